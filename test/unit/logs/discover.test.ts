import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverLogs, globBase, namesOutsidePlace } from '../../../src/core/logs/discover.js';

describe('log discovery stays inside the repository by real path', () => {
  let root: string;
  let repo: string;
  let outside: string;

  beforeAll(async () => {
    root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-discover-')));
    repo = path.join(root, 'repo');
    outside = path.join(root, 'outside');
    await fs.mkdir(path.join(repo, 'data', 'logs'), { recursive: true });
    await fs.mkdir(path.join(outside, 'logs'), { recursive: true });
    await fs.writeFile(path.join(repo, 'data', 'logs', 'in.ndjson'), '{}\n');
    await fs.writeFile(path.join(outside, 'logs', 'secret.ndjson'), '{}\n');
    await fs.writeFile(path.join(outside, 'private.key'), 'key\n');
    // A directory link and a file link out of the repository, one link inside it, and a loop.
    await fs.symlink(path.join(outside, 'logs'), path.join(repo, 'data', 'linked'));
    await fs.symlink(path.join(outside, 'private.key'), path.join(repo, 'data', 'logs', 'key.ndjson'));
    await fs.symlink(path.join(repo, 'data', 'logs', 'in.ndjson'), path.join(repo, 'data', 'logs', 'alias.ndjson'));
    await fs.symlink('..', path.join(repo, 'data', 'logs', 'loop'));
  });
  afterAll(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('skips and reports matches whose real path is outside the repository', async () => {
    const found = await discoverLogs(repo, ['data/**/*.ndjson']);
    expect(found.files.map((f) => f.path)).toEqual([path.join(repo, 'data', 'logs', 'in.ndjson')]);
    expect(found.files.every((f) => !f.path.startsWith(outside))).toBe(true);
    expect(found.skipped).toEqual(
      expect.arrayContaining([
        { path: 'data/linked/secret.ndjson', reason: 'outside_repository', resolves_to: path.join(outside, 'logs', 'secret.ndjson') },
        { path: 'data/logs/key.ndjson', reason: 'outside_repository', resolves_to: path.join(outside, 'private.key') },
      ]),
    );
  });

  it('reads an outside directory only when a glob names it (absolute or ../), and only under it', async () => {
    const absolute = await discoverLogs(repo, ['data/logs/*.ndjson', `${outside}/logs/*.ndjson`]);
    expect(absolute.files.map((f) => f.path).sort()).toEqual([path.join(repo, 'data', 'logs', 'in.ndjson'), path.join(outside, 'logs', 'secret.ndjson')].sort());
    expect(absolute.skipped.map((s) => s.path)).toEqual(['data/logs/key.ndjson']);
    const relative = await discoverLogs(repo, ['../outside/logs/*.ndjson']);
    expect(relative.files.map((f) => f.path)).toEqual([path.join(outside, 'logs', 'secret.ndjson')]);
    // Naming outside/logs does not open outside/ itself through a link in it.
    await fs.symlink(path.join(outside, 'private.key'), path.join(outside, 'logs', 'up.ndjson'));
    const named = await discoverLogs(repo, [`${outside}/logs/*.ndjson`]);
    expect(named.files.map((f) => f.path)).toEqual([path.join(outside, 'logs', 'secret.ndjson')]);
    expect(named.skipped).toEqual([{ path: path.join(outside, 'logs', 'up.ndjson'), reason: 'outside_named_directory', resolves_to: path.join(outside, 'private.key') }]);
    await fs.rm(path.join(outside, 'logs', 'up.ndjson'));
  });

  it('tells globs that name outside places from those that do not', () => {
    expect(globBase('data/logs/*.ndjson')).toBe('data/logs');
    expect(globBase('/var/log/bot/*.ndjson')).toBe('/var/log/bot');
    expect(namesOutsidePlace(repo, 'data/logs/*.ndjson')).toBe(false);
    expect(namesOutsidePlace(repo, '**/*.ndjson')).toBe(false);
    expect(namesOutsidePlace(repo, '../shared/*.ndjson')).toBe(true);
    expect(namesOutsidePlace(repo, '/var/log/bot/*.ndjson')).toBe(true);
    expect(namesOutsidePlace(repo, `${repo}/data/*.ndjson`)).toBe(false);
  });
});
