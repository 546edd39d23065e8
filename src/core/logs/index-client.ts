import net from 'node:net';
import { decodeMessage, encodeMessage, fromWireError, isOwnSocket, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, readLines, type Op, type WireError } from './index-protocol.js';
import { UserInputError } from '../errors.js';
import type { RefreshProgress, RefreshProgressListener } from './refresh-progress.js';

/** The owner went away with this request unanswered: asking again (of the next owner) is safe, every request only reads. */
export class OwnerGoneError extends Error {
  constructor() {
    super('The process holding the log index went away.');
    this.name = 'OwnerGoneError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onProgress: RefreshProgressListener | undefined;
}

// A client waits this long for the owner's hello (an owner busy writing a big batch answers late);
// an owner that does not answer is treated as absent.
const HELLO_TIMEOUT_MS = 60_000;

/** A connection to the process that owns the repository's log index (see index-owner.ts). */
export class IndexClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedListeners: Array<() => void> = [];
  private gone = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('error', () => {});
    socket.on('close', () => this.fail(new OwnerGoneError()));
    readLines(
      socket,
      MAX_RESPONSE_BYTES + 4096,
      (line) => this.receive(line),
      () => this.fail(new UserInputError('The answer from the process holding the log index is too large.', { hint: 'Ask for fewer rows.' })),
    );
  }

  /**
   * Connects and says hello. Null when nobody answers there (no socket, a stale socket
   * file, another user's file, no hello in time).
   */
  static async connect(socketPath: string): Promise<{ client: IndexClient; hello: Record<string, unknown> } | null> {
    if (!(await isOwnSocket(socketPath))) return null;
    const socket = await new Promise<net.Socket | null>((resolve) => {
      const s = net.createConnection(socketPath);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(null));
    });
    if (!socket) return null;
    const client = new IndexClient(socket);
    let timer: NodeJS.Timeout | undefined;
    try {
      const hello = await Promise.race([
        client.request('hello', {}),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no hello')), HELLO_TIMEOUT_MS);
        }),
      ]);
      return { client, hello: hello as Record<string, unknown> };
    } catch {
      client.close();
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.gone;
  }

  /** Calls `listener` once when the connection ends (the owner exited, or close()). */
  onClose(listener: () => void): void {
    if (this.gone) listener();
    else this.closedListeners.push(listener);
  }

  request(op: Op, body: Record<string, unknown>, onProgress?: RefreshProgressListener): Promise<unknown> {
    if (this.gone) return Promise.reject(new OwnerGoneError());
    const id = this.nextId++;
    const text = encodeMessage({ id, op, ...body });
    if (Buffer.byteLength(text) > MAX_REQUEST_BYTES) {
      return Promise.reject(new UserInputError(`The query is larger than ${MAX_REQUEST_BYTES} bytes.`, { hint: 'Send a shorter SQL text.' }));
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      // Keeps the process alive while it waits for an answer, and only then.
      this.socket.ref();
      this.socket.write(`${text}\n`);
    });
  }

  private receive(line: string): void {
    let message: { id?: unknown; ok?: boolean; result?: unknown; error?: WireError; progress?: RefreshProgress };
    try {
      message = decodeMessage(line) as typeof message;
    } catch {
      this.fail(new OwnerGoneError());
      return;
    }
    const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (!pending) return;
    if (message.progress) {
      try {
        pending.onProgress?.(message.progress);
      } catch {
        // A display that fails must not stop the answer.
      }
      return;
    }
    this.pending.delete(message.id as number);
    if (this.pending.size === 0) this.socket.unref();
    if (message.ok) pending.resolve(message.result);
    else pending.reject(fromWireError(message.error ?? { code: 'internal', message: 'The request failed.' }));
  }

  private fail(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    if (!this.socket.destroyed) this.socket.destroy();
    if (this.gone) return;
    this.gone = true;
    for (const listener of this.closedListeners.splice(0)) listener();
  }

  close(): void {
    this.closedListeners = [];
    this.fail(new OwnerGoneError());
  }
}
