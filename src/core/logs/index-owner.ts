import fs from 'node:fs/promises';
import net from 'node:net';
import type { Logger } from '../logger.js';
import { UserInputError } from '../errors.js';
import { encodeMessage, decodeMessage, ensureSocketDir, MAX_IN_FLIGHT, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, readLines, toWireError, type Op } from './index-protocol.js';
import type { RefreshProgressListener } from './refresh-progress.js';

/**
 * What the owner of a log index answers over its socket. Every query goes through the
 * read-only guard (one statement, prepared as a SELECT, on a database without file access
 * or extensions) and the owner's own timeout and row limits. A process of the same user can
 * connect, the agent's code included: it gets nothing beyond what query_runtime_logs gives,
 * and the socket's 0600 file in a 0700 directory keeps other users out.
 */
export interface IndexService {
  signature: string;
  refresh(onProgress?: RefreshProgressListener): Promise<unknown>;
  /** Refreshes, then runs the guarded query without a row cap (the engines' `all`). */
  all(sql: string, params: unknown[]): Promise<unknown>;
  query(sql: string, params: unknown[], options: { timeoutMs?: number; maxRows?: number }): Promise<unknown>;
  sql(sql: string, options: { timeoutMs?: number; maxRows: number }): Promise<unknown>;
  /** Freshness and file health, sent with the replies that change them. */
  state(): Record<string, unknown>;
}

const MAX_CONNECTIONS = 64;

export class IndexServer {
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly socketPath: string,
  ) {}

  /**
   * Listens on `socketPath`, replacing whatever file is there: the caller holds the index
   * file's lock, so a socket left there belongs to an owner that is gone. Null (and a log
   * line) when it cannot listen: the index then works for this process alone.
   */
  static async listen(socketPath: string, service: IndexService, logger: Logger): Promise<IndexServer | null> {
    try {
      await ensureSocketDir(socketPath);
      await fs.rm(socketPath, { force: true });
      const server = net.createServer();
      server.maxConnections = MAX_CONNECTIONS;
      const owner = new IndexServer(server, socketPath);
      server.on('connection', (socket) => owner.serve(socket, service, logger));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (error) => logger.log('warning', 'the log index socket failed', { error: String(error) }));
      // Serving others never keeps this process alive: when it is done, a client takes over.
      server.unref();
      await fs.chmod(socketPath, 0o600);
      return owner;
    } catch (error) {
      logger.log('warning', 'cannot share the log index with other selfscope processes', { socket: socketPath, error: String(error) });
      return null;
    }
  }

  private serve(socket: net.Socket, service: IndexService, logger: Logger): void {
    this.sockets.add(socket);
    socket.unref();
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let inFlight = 0;
    const send = (message: Record<string, unknown>) => {
      if (socket.destroyed) return;
      let text = encodeMessage(message);
      if (Buffer.byteLength(text) > MAX_RESPONSE_BYTES) {
        text = encodeMessage({
          id: message['id'],
          ok: false,
          error: toWireError(
            new UserInputError(`The result is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB, more than one selfscope process passes to another.`, {
              hint: 'Ask for fewer rows or columns (a LIMIT, an aggregate, a narrower filter).',
            }),
          ),
        });
      }
      socket.write(`${text}\n`);
    };
    readLines(
      socket,
      MAX_REQUEST_BYTES,
      (line) => {
        let request: Record<string, unknown>;
        try {
          const parsed = decodeMessage(line);
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
          request = parsed as Record<string, unknown>;
        } catch {
          socket.destroy();
          return;
        }
        const id = request['id'];
        if (typeof id !== 'number') {
          socket.destroy();
          return;
        }
        if (inFlight >= MAX_IN_FLIGHT) {
          send({ id, ok: false, error: toWireError(new UserInputError('Too many requests at once on one connection.', { hint: 'Wait for answers before asking more.' })) });
          return;
        }
        inFlight++;
        handle(request as { op?: Op }, service, (progress) => send({ id, progress }))
          .then(
            (result) => send({ id, ok: true, result }),
            (error: unknown) => send({ id, ok: false, error: toWireError(error) }),
          )
          .finally(() => inFlight--)
          .catch((error: unknown) => logger.log('warning', 'log index request failed', { error: String(error) }));
      },
      () => {
        socket.end(`${encodeMessage({ id: null, ok: false, error: { code: 'user_input', message: `A request is larger than ${MAX_REQUEST_BYTES} bytes.` } })}\n`);
        socket.destroy();
      },
    );
  }

  /** Stops listening, drops every connection (clients then take over) and removes the socket. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await fs.rm(this.socketPath, { force: true }).catch(() => {});
  }
}

async function handle(request: Record<string, unknown>, service: IndexService, progress: RefreshProgressListener): Promise<unknown> {
  const text = (key: string): string => {
    const v = request[key];
    if (typeof v !== 'string') throw new UserInputError(`The request needs ${key} as a string.`);
    return v;
  };
  const params = (): unknown[] => {
    const v = request['params'] ?? [];
    if (!Array.isArray(v)) throw new UserInputError('The request needs params as an array.');
    return v;
  };
  const count = (key: string): number | undefined => {
    const v = request[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UserInputError(`The request needs ${key} as a number of at least 0.`);
    return Math.floor(v);
  };
  switch (request['op']) {
    case 'hello':
      return { signature: service.signature, pid: process.pid, ...service.state() };
    case 'refresh': {
      const stats = await service.refresh(request['progress'] === true ? progress : undefined);
      return { stats, ...service.state() };
    }
    case 'all':
      return { ...((await service.all(text('sql'), params())) as object), ...service.state() };
    case 'query': {
      const timeoutMs = count('timeoutMs');
      const maxRows = count('maxRows');
      return service.query(text('sql'), params(), { ...(timeoutMs !== undefined ? { timeoutMs } : {}), ...(maxRows !== undefined ? { maxRows } : {}) });
    }
    case 'sql': {
      const timeoutMs = count('timeoutMs');
      return service.sql(text('sql'), { ...(timeoutMs !== undefined ? { timeoutMs } : {}), maxRows: count('maxRows') ?? 0 });
    }
    default:
      throw new UserInputError('Unknown request.');
  }
}
