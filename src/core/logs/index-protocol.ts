import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Socket } from 'node:net';
import { ConfigurationError, SelfscopeError, UserInputError, type ErrorCode } from '../errors.js';

/**
 * The wire between the process that holds a repository's log index (its owner) and the
 * other selfscope processes of that repository: JSON lines over a Unix socket.
 *
 * request  {"id":1,"op":"hello"|"refresh"|"all"|"query"|"sql",...}
 * reply    {"id":1,"ok":true,"result":...} | {"id":1,"ok":false,"error":{code,message,hint}}
 * progress {"id":1,"progress":{...}} (zero or more before a refresh's reply)
 *
 * Values JSON cannot carry (bigint, Date, bytes) travel tagged, so rows come out as the
 * owner's own DuckDB connection returned them.
 */

export const PROTOCOL_VERSION = 1;
/** A request is SQL text and a few parameters. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** A reply holds rows; a bigger result is refused with a message saying to narrow it. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Requests one connection may have in flight. */
export const MAX_IN_FLIGHT = 32;
// sun_path holds 108 bytes on Linux (104 on macOS), with its terminating NUL.
const SOCKET_PATH_MAX = 100;
const TAG = '\u0000t';

export type Op = 'hello' | 'refresh' | 'all' | 'query' | 'sql';

/**
 * Where the owner of the index in `stateDir` listens: inside the state directory, or, when
 * that path is too long for a socket address, in a per-user 0700 directory under the
 * system temporary directory, named by a hash of the state directory.
 */
export function indexSocketPath(stateDir: string): string {
  const inState = path.join(path.resolve(stateDir), 'ipc', 'index.sock');
  if (Buffer.byteLength(inState) <= SOCKET_PATH_MAX) return inState;
  const hash = createHash('sha1').update(path.resolve(stateDir)).digest('hex').slice(0, 20);
  return path.join(os.tmpdir(), `selfscope-${process.getuid?.() ?? 'user'}`, `${hash}.sock`);
}

/**
 * Creates the socket's directory 0700 and checks it is this user's and closed to others:
 * the file permissions are what keeps other users out of the index.
 */
export async function ensureSocketDir(socketPath: string): Promise<void> {
  const dir = path.dirname(socketPath);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const stat = await fs.lstat(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
    throw new ConfigurationError(`The socket directory ${dir} is not a directory of this user.`, { hint: 'Remove it; selfscope recreates it.' });
  }
  if ((stat.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
}

/** Whether `socketPath` is a socket of this user (what a client checks before it talks). */
export async function isOwnSocket(socketPath: string): Promise<boolean> {
  try {
    const stat = await fs.lstat(socketPath);
    const uid = process.getuid?.();
    return stat.isSocket() && (uid === undefined || stat.uid === uid);
  } catch {
    return false;
  }
}

export function encodeMessage(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    if (typeof raw === 'bigint') return { [TAG]: 'bigint', v: raw.toString() };
    if (raw instanceof Date) return { [TAG]: 'date', v: Number.isFinite(raw.getTime()) ? raw.getTime() : null };
    if (raw instanceof Uint8Array) return { [TAG]: 'bytes', v: Buffer.from(raw).toString('base64') };
    return v;
  });
}

export function decodeMessage(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !(TAG in v)) return v;
    const tagged = v as Record<string, unknown>;
    const value = tagged['v'];
    switch (tagged[TAG]) {
      case 'bigint':
        return BigInt(String(value));
      case 'date':
        return new Date(typeof value === 'number' ? value : Number.NaN);
      case 'bytes':
        return new Uint8Array(Buffer.from(String(value), 'base64'));
      default:
        return v;
    }
  });
}

export interface WireError {
  code: ErrorCode | 'internal';
  message: string;
  hint?: string;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof SelfscopeError) return { code: error.code, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  return { code: 'internal', message: String(error instanceof Error ? error.message : error).split('\n')[0]!.slice(0, 500) };
}

export function fromWireError(e: WireError): Error {
  const options = e.hint ? { hint: e.hint } : {};
  if (e.code === 'user_input') return new UserInputError(e.message, options);
  if (e.code === 'configuration') return new ConfigurationError(e.message, options);
  if (e.code === 'internal') return new Error(e.message);
  return new SelfscopeError(e.code, e.message, options);
}

/**
 * Splits what arrives on `socket` into lines and hands each to `onLine`; a line longer than
 * `maxBytes` calls `onTooLong` and nothing more is read.
 */
export function readLines(socket: Socket, maxBytes: number, onLine: (line: string) => void, onTooLong: () => void): void {
  let parts: Buffer[] = [];
  let pending = 0;
  let stopped = false;
  socket.on('data', (chunk: Buffer) => {
    if (stopped) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      const line = parts.length > 0 ? Buffer.concat([...parts, piece]) : piece;
      parts = [];
      pending = 0;
      start = nl + 1;
      if (line.length > maxBytes) {
        stopped = true;
        onTooLong();
        return;
      }
      if (line.length > 0) onLine(line.toString('utf8'));
      if (stopped || socket.destroyed) return;
    }
    if (start < chunk.length) {
      parts.push(chunk.subarray(start));
      pending += chunk.length - start;
      if (pending > maxBytes) {
        stopped = true;
        parts = [];
        onTooLong();
      }
    }
  });
}

/** The signature both sides must share to answer for each other: same version, same log mapping. */
export function wireSignature(indexSignature: string, logs: readonly string[]): string {
  return createHash('sha1').update(JSON.stringify({ p: PROTOCOL_VERSION, indexSignature, logs })).digest('hex');
}
