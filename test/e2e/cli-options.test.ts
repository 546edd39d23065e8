import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/mcp-client.js';
import { createTempRepo, type TempRepo } from '../helpers/temp-repo.js';

let repo: TempRepo;
beforeAll(async () => {
  repo = await createTempRepo();
});
afterAll(async () => {
  await repo.cleanup();
});

function configJson(args: string[]): Promise<{ values: Record<string, unknown>; sources: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: repo.dir, timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', XDG_STATE_HOME: process.env['XDG_STATE_HOME'] ?? '' } }, (error, out, err) =>
      error ? reject(new Error(`${error.message}\n${err}`)) : resolve(JSON.parse(out) as { values: Record<string, unknown>; sources: Record<string, string> }),
    );
  });
}

describe('global options', () => {
  it('take --logs before or after the command, once per glob (a brace glob keeps its commas)', async () => {
    const before = await configJson(['--logs', 'a/*.ndjson', '--logs', 'data/{x,y}/*.ndjson', 'config', '--json']);
    expect(before.values['logs']).toEqual(['a/*.ndjson', 'data/{x,y}/*.ndjson']);
    expect(before.sources['logs']).toBe('flag');
    const after = await configJson(['config', '--json', '--logs', 'b/*.ndjson']);
    expect(after.values['logs']).toEqual(['b/*.ndjson']);
  });
});
