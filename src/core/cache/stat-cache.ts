import fs from 'node:fs';

/**
 * Answers that are costly to compute (git spawns, a database opened) and depend only on
 * files: kept with the stat of each file they depend on, and given again while every one
 * of those files stats the same (inode, size, mode, mtime and ctime in nanoseconds; a
 * missing file stats as missing). ctime cannot be set back by a program the way mtime
 * can, so an edit is seen even when the editor restores the mtime.
 *
 * An answer is kept only when none of its files changed in the RACY_MS before its
 * computation started, or since: a file written while the answer was computed could
 * otherwise keep its new stat with the old answer (the "racy git" problem), and a file
 * time can trail the clock by a scheduler tick.
 */
export const RACY_MS = 1000;

interface Entry<T> {
  paths: readonly string[];
  stamps: readonly string[];
  value: T;
}

export interface Computed<T> {
  value: T;
  /** The files the value depends on; null when it cannot be kept (it depends on more than files). */
  watch: readonly string[] | null;
}

export class StatCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly maxEntries = 16,
    /** Tests that create files and read at once pass 0 (their files are older than the computation). */
    private readonly racyMs = RACY_MS,
  ) {}

  /** The value kept under `key` while its files are unchanged, else `compute`'s. */
  async get(key: string, compute: () => Promise<Computed<T>>): Promise<{ value: T; cached: boolean }> {
    const entry = this.entries.get(key);
    if (entry && sameStamps(entry.paths, entry.stamps)) return { value: entry.value, cached: true };
    this.entries.delete(key);
    const started = Date.now();
    const { value, watch } = await compute();
    if (watch !== null) {
      const paths = [...watch];
      const { stamps, newest } = stampAll(paths);
      if (newest < BigInt(started - this.racyMs) * 1_000_000n) {
        this.entries.set(key, { paths, stamps, value });
        while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      }
    }
    return { value, cached: false };
  }

  /** Forgets every value (after this process changed what they depend on, say). */
  clear(): void {
    this.entries.clear();
  }
}

function stamp(file: string): { text: string; time: bigint } {
  try {
    const s = fs.lstatSync(file, { bigint: true, throwIfNoEntry: false });
    if (!s) return { text: '-', time: 0n };
    const time = s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs;
    return { text: `${s.dev}:${s.ino}:${s.mode}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`, time };
  } catch {
    return { text: '?', time: 0n };
  }
}

function stampAll(paths: readonly string[]): { stamps: string[]; newest: bigint } {
  let newest = 0n;
  const stamps = paths.map((p) => {
    const s = stamp(p);
    if (s.time > newest) newest = s.time;
    return s.text;
  });
  return { stamps, newest };
}

function sameStamps(paths: readonly string[], stamps: readonly string[]): boolean {
  for (let i = 0; i < paths.length; i++) if (stamp(paths[i]!).text !== stamps[i]) return false;
  return true;
}
