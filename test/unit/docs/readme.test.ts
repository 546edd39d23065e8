import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksSchema } from '../../../src/config/schema.js';
import { runInit, SCHEMA_REF } from '../../../src/core/init/init.js';
import { createTempRepo, git, type TempRepo } from '../../helpers/temp-repo.js';

/**
 * Every command the README shows in a shell block is either run here, as written, in a
 * throwaway copy of the package or a throwaway bot repository (offline), or listed below
 * with the test that covers it or what it needs that a test run does not have (`claude`,
 * `codex`, the network). A command that is neither fails this file, so a new one cannot slip
 * in unchecked. Every flag of a selfscope command in the README must be in the CLI's --help.
 * Runs the built CLI (`npm test` builds it first).
 */

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string>; devDependencies: Record<string, string> };
const PLACEHOLDER_CLI = '/path/to/selfscope/dist/cli/main.js';
/** A bounded wait for one README command, on a busy two-core machine. */
const COMMAND_TIMEOUT_MS = 90_000;

// ---------------------------------------------------------------------------------------
// Reading the README

interface Block {
  info: string;
  /** 1-based line number of the block's first line (after the fence). */
  start: number;
  lines: string[];
}

function fencedBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) body.push(lines[j++]!);
    blocks.push({ info: open[1]!, start: i + 2, lines: body });
    i = j;
  }
  return blocks;
}

/** The line without its shell comment (a `#` at the start of a word, outside quotes). */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

interface ReadmeCommand {
  line: number;
  text: string;
}

/** Command lines of the README's shell blocks: continuations joined, comments and blank lines dropped. */
function shellCommands(markdown: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  for (const block of fencedBlocks(markdown).filter((b) => ['sh', 'bash', 'shell', 'console'].includes(b.info))) {
    let pending: ReadmeCommand | null = null;
    block.lines.forEach((raw, k) => {
      const text = stripComment(raw).trim();
      if (!pending && text === '') return;
      const continued = text.endsWith('\\');
      const part = continued ? text.slice(0, -1).trim() : text;
      pending = pending ? { line: pending.line, text: `${pending.text} ${part}`.trim() } : { line: block.start + k, text: part };
      if (!continued) {
        if (pending.text !== '') out.push(pending);
        pending = null;
      }
    });
  }
  return out;
}

/** Shell-like words: quotes removed, `$(…)` kept whole, operators as words of their own. */
function words(command: string): string[] {
  const out: string[] = [];
  let current = '';
  let has = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      current += command.slice(i + 1, end);
      i = end;
      has = true;
    } else if (c === '"') {
      let j = i + 1;
      while (j < command.length && command[j] !== '"') j += command[j] === '\\' ? 2 : 1;
      current += command.slice(i + 1, j);
      i = j;
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(current);
      current = '';
      has = false;
    } else if ((c === '&' || c === '|') && command[i + 1] === c) {
      if (has) out.push(current);
      out.push(c + c);
      current = '';
      has = false;
      i++;
    } else if (c === ';' || c === '|') {
      if (has) out.push(current);
      out.push(c);
      current = '';
      has = false;
    } else {
      current += c;
      has = true;
    }
  }
  if (has) out.push(current);
  return out;
}

const OPERATORS = new Set(['&&', '||', ';', '|']);

/**
 * The selfscope invocations in a command line, each as the words after the program: a
 * `selfscope` that starts a command (or follows `npx`), or `node …/dist/cli/main.js`.
 */
function invocations(command: string): string[][] {
  const w = words(command);
  const found: string[][] = [];
  let commandStart = true;
  for (let i = 0; i < w.length; i++) {
    const word = w[i]!;
    if (OPERATORS.has(word)) {
      commandStart = true;
      continue;
    }
    if (commandStart && /^[A-Z_][A-Z0-9_]*=/.test(word)) continue; // an environment assignment
    const isSelfscope = word === 'selfscope' && (commandStart || w[i - 1] === 'npx');
    const isCli = word.endsWith('dist/cli/main.js') && w[i - 1] === 'node';
    commandStart = false;
    if (!isSelfscope && !isCli) continue;
    let j = i + 1;
    while (j < w.length && !OPERATORS.has(w[j]!)) j++;
    found.push(w.slice(i + 1, j));
    i = j - 1;
  }
  return found;
}

/** Inline code spans that are a selfscope command (`selfscope approve --tree ID`). */
function inlineCommands(markdown: string): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  const withoutBlocks = markdown.replace(/^```[\s\S]*?^```/gm, (m) => m.replace(/[^\n]/g, ' '));
  withoutBlocks.split('\n').forEach((line, k) => {
    for (const m of line.matchAll(/`(selfscope [^`]+)`/g)) out.push({ line: k + 1, text: m[1]! });
  });
  return out;
}

/** The synopsis lines of the "Command line" section's block. */
function synopsisLines(markdown: string): ReadmeCommand[] {
  const at = markdown.indexOf('\n## Command line\n');
  const before = markdown.slice(0, at).split('\n').length;
  const block = fencedBlocks(markdown.slice(at)).find((b) => b.lines.some((l) => l.startsWith('selfscope ')));
  if (!block) return [];
  return block.lines.flatMap((l, k) => (l.startsWith('selfscope ') ? [{ line: before + block.start + k - 1, text: l }] : []));
}

// ---------------------------------------------------------------------------------------
// What is done with each README command

interface Context {
  /** Throwaway copy of the package (a git repository; node_modules linked to the real one). */
  pkg: string;
  /** A fresh throwaway bot repository for this command. */
  bot: TempRepo;
  /** Where `npm link` and `npm i -g` put things instead of the real global prefix. */
  prefix: string;
}

interface RunSpec {
  where: 'package' | 'bot';
  exitCode: number;
  check(result: { stdout: string; stderr: string }, ctx: Context): Promise<void> | void;
}

type Entry = { command: string } & (
  | { run: RunSpec }
  /** A test elsewhere runs it (or exactly what it runs): the file, and text in it that shows so. */
  | { coveredBy: Array<{ file: string; shows: string[] }> }
  /** Needs what a test run here does not have. */
  | { needs: 'claude' | 'codex' | 'the npm registry'; why: string }
) & {
  /** Flags after the selfscope command that belong to a wrapping program. */
  foreignFlags?: string[];
};

const BOT_LOG = 'var/actions/runtime-actions.ndjson';

const ENTRIES: Entry[] = [
  // Two commands
  {
    command: 'npm ci && npm start',
    coveredBy: [
      { file: '.ci/run', shows: ['npm ci --no-audit --no-fund'] },
      { file: 'package.json', shows: ['"start": "node dist/cli/main.js demo"'] },
      { file: 'test/e2e/demo.test.ts', shows: ["runs as the README says, exits 0 and leaves nothing behind", "[CLI, 'demo']"] },
    ],
  },
  { command: 'npm test', coveredBy: [{ file: '.ci/run', shows: ['\nnpm test\n'] }] },

  // selfscope on the PATH
  {
    command: 'npx selfscope --version',
    run: { where: 'package', exitCode: 0, check: ({ stdout }) => expect(stdout.trim()).toBe(PKG.version) },
  },
  {
    command: 'npm link',
    run: {
      where: 'package',
      exitCode: 0,
      check: async (_r, ctx) => {
        // The linked command works from anywhere, and follows the clone.
        const bin = path.join(ctx.prefix, 'bin', 'selfscope');
        expect(await fsp.realpath(bin)).toBe(await fsp.realpath(path.join(ctx.pkg, 'dist', 'cli', 'main.js')));
        const version = await execa(bin, ['--version'], { cwd: os.tmpdir(), reject: false, timeout: COMMAND_TIMEOUT_MS });
        expect(version.exitCode, version.stderr).toBe(0);
        expect(version.stdout.trim()).toBe(PKG.version);
      },
    },
  },
  {
    command: 'selfscope --help',
    run: { where: 'bot', exitCode: 0, check: ({ stdout }) => expect(stdout).toMatch(/^Usage: selfscope \[options\] \[command\]/) },
  },
  {
    command: 'npm pack',
    run: {
      where: 'package',
      exitCode: 0,
      check: async ({ stdout }, ctx) => {
        const tarball = `selfscope-${PKG.version}.tgz`;
        expect(stdout.trim().split('\n').pop()).toBe(tarball);
        expect(README).toContain(`./${tarball}`);
        const { stdout: listing } = await execa('tar', ['-tzf', path.join(ctx.pkg, tarball)]);
        for (const file of ['package/dist/cli/main.js', 'package/schema/selfscope.config.schema.json', 'package/package.json']) expect(listing.split('\n')).toContain(file);
      },
    },
  },
  { command: `npm i -g ./selfscope-${PKG.version}.tgz`, needs: 'the npm registry', why: 'a tarball has no lockfile: npm resolves and downloads its dependencies' },
  { command: `npm i -D /path/to/selfscope-${PKG.version}.tgz`, needs: 'the npm registry', why: 'installs into a bot repository, downloading the dependencies' },

  // Connect a client
  { command: 'claude --mcp-config mcp.json', needs: 'claude', why: 'Claude Code; mcp.json itself is checked below' },
  {
    command: 'selfscope init --dry-run',
    run: {
      where: 'bot',
      exitCode: 0,
      check: async ({ stdout }, ctx) => {
        expect(stdout).toMatch(/^would create\s+selfscope\.config\.json$/m);
        expect(stdout).toMatch(/^would create\s+\.mcp\.json$/m);
        expect(stdout).toMatch(/^would update\s+\.git\/info\/exclude/m);
        expect(stdout).toContain('+/.selfscope/');
        expect(stdout).toContain(`"$schema": "${SCHEMA_REF}"`);
        expect(stdout).toContain('tool_timeout_sec = ');
        // Nothing written: no file, no state directory, the exclude file as it was.
        expect(await git(ctx.bot.dir, ['status', '--porcelain', '--ignored'])).toBe('!! var/');
        expect(fs.existsSync(path.join(ctx.bot.dir, '.selfscope'))).toBe(false);
        expect(fs.readFileSync(path.join(ctx.bot.dir, '.git', 'info', 'exclude'), 'utf8')).not.toContain('selfscope');
      },
    },
  },
  {
    command: 'selfscope init',
    run: {
      where: 'bot',
      exitCode: 0,
      check: async ({ stdout }, ctx) => {
        expect(stdout).toMatch(/^create\s+selfscope\.config\.json$/m);
        expect(stdout).toContain('git add selfscope.config.json .mcp.json && git commit -m "Set up selfscope"');
        expect(stdout).toMatch(/^Never commit:$/m);
        const config = JSON.parse(fs.readFileSync(path.join(ctx.bot.dir, 'selfscope.config.json'), 'utf8')) as Record<string, unknown>;
        expect(config).toEqual({ $schema: SCHEMA_REF, logs: ['var/actions/*.ndjson'], github: { owner: 'acme', repo: 'bot' } });
        expect(await git(ctx.bot.dir, ['status', '--porcelain'])).toBe('?? .mcp.json\n?? selfscope.config.json');
      },
    },
  },
  { command: `claude mcp add selfscope -- node ${PLACEHOLDER_CLI} serve`, needs: 'claude', why: "Claude Code's CLI; the server command after -- is flag-checked here" },
  { command: `claude mcp add --scope project selfscope -- node ${PLACEHOLDER_CLI} serve`, needs: 'claude', why: "Claude Code's CLI; the .mcp.json it writes is the one selfscope init writes (checked here)" },
  {
    command: 'npx @modelcontextprotocol/inspector@0.16.8 --cli node dist/cli/main.js serve --method tools/list',
    needs: 'the npm registry',
    why: 'the Inspector is not a dependency: npx downloads it; tools/list over stdio is test/e2e/stdio.test.ts',
    foreignFlags: ['--method'],
  },
  {
    command: 'npx @modelcontextprotocol/inspector@0.16.8 --cli node dist/cli/main.js serve --method tools/call --tool-name selfscope_status',
    needs: 'the npm registry',
    why: 'the Inspector is not a dependency: npx downloads it; selfscope_status over stdio is test/e2e/stdio.test.ts',
    foreignFlags: ['--method', '--tool-name'],
  },
  {
    command: 'selfscope serve --http 127.0.0.1:8765',
    coveredBy: [
      { file: 'test/helpers/http-server.ts', shows: ["[CLI, 'serve', '--http', options.listen ?? '127.0.0.1:0'"] },
      { file: 'test/e2e/http.test.ts', shows: ['serves MCP to a client with the token, with structured results', 'generates a token on first start, stores it with mode 0600'] },
    ],
  },
  {
    command: 'npx @modelcontextprotocol/inspector@0.16.8 --cli http://127.0.0.1:8765/mcp --transport http --header "Authorization: Bearer $(cat .selfscope/http-token)" --method tools/list',
    needs: 'the npm registry',
    why: 'the Inspector is not a dependency: npx downloads it; an SDK client over HTTP with the token is test/e2e/http.test.ts',
  },
  {
    command: 'selfscope serve --http 0.0.0.0:8765 --allowed-hosts mcp.example.com,mcp.internal:8765',
    coveredBy: [{ file: 'test/e2e/http.test.ts', shows: ["['--allowed-hosts', 'mcp.example.test,alt.example.test:8443'], { listen: '0.0.0.0:0' }"] }],
  },
  { command: 'npm run build', coveredBy: [{ file: 'package.json', shows: ['"pretest": "npm run build'] }, { file: '.ci/run', shows: ['\nnpm test\n'] }] },
  {
    command: 'npm run conformance',
    coveredBy: [
      { file: 'package.json', shows: ['"conformance": "node scripts/conformance.mjs"'] },
      { file: 'test/e2e/conformance.test.ts', shows: ["path.join(ROOT, 'scripts', 'conformance.mjs')", 'passes every applicable server scenario'] },
    ],
  },
  {
    command: 'npm run conformance -- --all',
    run: {
      where: 'package',
      // The suite's fixture scenarios fail by design (selfscope lacks its reference server's tools).
      exitCode: 1,
      check: ({ stdout }) => {
        for (const scenario of ['server-initialize', 'ping', 'logging-set-level', 'tools-list', 'resources-list', 'prompts-list', 'dns-rebinding-protection']) {
          expect(stdout).toMatch(new RegExp(`^✓ ${scenario}: `, 'm'));
        }
        expect(stdout).toMatch(/^✗ tools-call-image: /m);
      },
    },
  },
  {
    command: 'selfscope serve --http 127.0.0.1:8765 --no-auth-loopback',
    coveredBy: [{ file: 'test/e2e/http.test.ts', shows: ["describe('--no-auth-loopback'", 'serves without a token on a loopback bind'] }],
  },
  {
    command: 'npx @modelcontextprotocol/conformance@0.1.13 server --url http://127.0.0.1:8765/mcp --scenario server-initialize',
    coveredBy: [
      // The same suite, at the version README names, runs server-initialize (and more) there.
      { file: 'package.json', shows: ['"@modelcontextprotocol/conformance": "0.1.13"'] },
      { file: 'scripts/conformance.mjs', shows: ["'server-initialize'", "'--scenario'"] },
      { file: 'test/e2e/conformance.test.ts', shows: ["'server-initialize'"] },
    ],
  },

  // Troubleshooting
  { command: 'MCP_TOOL_TIMEOUT=1860000 claude', needs: 'claude', why: 'Claude Code' },
  {
    command: 'selfscope status',
    run: {
      where: 'bot',
      exitCode: 0,
      check: ({ stdout }) => {
        // The bot logs outside the default glob: status says so, as the README quotes it.
        expect(stdout).toContain('log files: none match data/logs/*.ndjson — set "logs" in selfscope.config.json');
        expect(stdout).toMatch(/^sandbox: /m);
        expect(stdout).toMatch(/^test: npm run test — .*no run of it can count as a test pass \(no report of a known runner\)$/m);
      },
    },
  },
  {
    command: "selfscope status --logs 'var/actions/*.ndjson'",
    run: { where: 'bot', exitCode: 0, check: ({ stdout }) => expect(stdout).toMatch(/^log files: 1 \(/m) },
  },
  {
    command: "selfscope query --logs 'var/actions/*.ndjson' --since 24h --limit 5",
    run: { where: 'bot', exitCode: 0, check: ({ stdout }) => expect(stdout).toContain('music_queue_add') },
  },
  {
    command: 'selfscope config --json',
    run: {
      where: 'bot',
      exitCode: 0,
      check: ({ stdout }) => {
        const values = (JSON.parse(stdout) as { values: Record<string, unknown> }).values;
        expect(values['git.sensitivePaths']).toEqual(expect.arrayContaining(['**/selfscope.config.json', '**/.mcp.json']));
      },
    },
  },
];

// ---------------------------------------------------------------------------------------
// Fixtures

const cleanup: Array<() => Promise<void>> = [];
let shimDir = '';
let pkgTemplate = '';

/** The bot as selfscope meets it: logs where its .env says, a test script no runner can be read from. */
async function botRepo(): Promise<TempRepo> {
  const now = Date.now();
  const event = (minutesAgo: number, e: Record<string, unknown>) => JSON.stringify({ ts: new Date(now - minutesAgo * 60_000).toISOString(), level: 'info', kind: 'voice', agent: 'voice', ...e });
  const repo = await createTempRepo({
    files: {
      '.gitignore': 'var/\n',
      '.env': 'RUNTIME_STRUCTURED_LOGS_FILE_PATH=var/actions/runtime-actions.ndjson\n',
      'package.json': JSON.stringify({ name: 'bot', private: true, scripts: { typecheck: 'tsc --noEmit', test: './run-tests.sh' } }, null, 2),
      [BOT_LOG]: `${[event(90, { event: 'realtime_tool_call_completed', metadata: { toolName: 'music_queue_add' } }), event(60, { event: 'realtime_tool_call_failed', level: 'error', metadata: { toolName: 'music_queue_add', error: 'queue state undefined' } })].join('\n')}\n`,
    },
  });
  cleanup.push(() => repo.cleanup());
  await git(repo.dir, ['remote', 'add', 'origin', 'https://github.com/acme/bot.git']);
  return repo;
}

/** A throwaway copy of the package as a clone has it after `npm ci`: built, dependencies installed. */
async function packageCopy(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(pkgTemplate, 'pkg-'));
  await fsp.cp(path.join(pkgTemplate, 'template'), dir, { recursive: true, verbatimSymlinks: true });
  await git(dir, ['init', '-q', '-b', 'main']);
  await git(dir, ['add', '-A']);
  await git(dir, ['commit', '-q', '-m', 'copy']);
  return dir;
}

beforeAll(async () => {
  expect(fs.existsSync(CLI), `${CLI} is missing: build first (npm run build; npm test does it)`).toBe(true);
  const base = await fsp.realpath(await fsp.mkdtemp(path.join(os.tmpdir(), 'selfscope-readme-')));
  cleanup.push(() => fsp.rm(base, { recursive: true, force: true }));
  shimDir = path.join(base, 'bin');
  await fsp.mkdir(shimDir);
  // `selfscope` on the PATH, as `npm link` puts it there (tested on its own above).
  await fsp.writeFile(path.join(shimDir, 'selfscope'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, { mode: 0o755 });
  pkgTemplate = base;
  const template = path.join(base, 'template');
  await fsp.mkdir(template);
  for (const entry of ['package.json', 'README.md', 'LICENSE', 'mcp.json', 'dist', 'schema', 'examples', 'scripts']) {
    await fsp.cp(path.join(ROOT, entry), path.join(template, entry), { recursive: true });
  }
  // Read-only use of the real dependencies (npm link and pack leave a linked folder's node_modules alone).
  await fsp.symlink(path.join(ROOT, 'node_modules'), path.join(template, 'node_modules'), 'dir');
  await fsp.writeFile(path.join(template, '.gitignore'), 'node_modules\n*.tgz\n.selfscope/\n');
}, 60_000);

afterAll(async () => {
  for (const done of cleanup.splice(0).reverse()) await done();
}, 60_000);

function commandEnv(ctx: Context): Record<string, string> {
  const xdg = process.env['XDG_STATE_HOME'];
  return {
    PATH: `${shimDir}${path.delimiter}${process.env['PATH'] ?? ''}`,
    HOME: process.env['HOME'] ?? os.homedir(),
    ...(xdg ? { XDG_STATE_HOME: xdg } : {}),
    // npm offline and hermetic: no registry, no lifecycle scripts (dist is built), a global prefix of its own.
    npm_config_offline: 'true',
    npm_config_ignore_scripts: 'true',
    npm_config_prefix: ctx.prefix,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
}

// ---------------------------------------------------------------------------------------
// The checks

const COMMANDS = shellCommands(README);
const entryFor = (text: string) => ENTRIES.filter((e) => e.command === text);

describe('README shell commands', () => {
  it('finds the commands in the README', () => {
    expect(COMMANDS.length).toBeGreaterThan(10);
    expect(COMMANDS.map((c) => c.text)).toContain('npm ci && npm start');
  });

  it('runs or accounts for every one: each is run here, covered by a named test, or needs what a test run lacks', () => {
    const unaccounted = COMMANDS.filter((c) => entryFor(c.text).length !== 1).map((c) => `README.md:${c.line}: ${c.text}`);
    expect(unaccounted, 'add each to ENTRIES in this file: run it here, name the test that covers it, or say what it needs').toEqual([]);
    const stale = ENTRIES.filter((e) => !COMMANDS.some((c) => c.text === e.command)).map((e) => e.command);
    expect(stale, 'entries for commands the README no longer shows').toEqual([]);
  });

  it.each(ENTRIES.filter((e): e is Entry & { coveredBy: Array<{ file: string; shows: string[] }> } => 'coveredBy' in e).map((e) => [e.command, e] as const))(
    'covered elsewhere: %s',
    (_command, entry) => {
      for (const { file, shows } of entry.coveredBy) {
        const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
        for (const s of shows) expect(text, `${file} should show ${JSON.stringify(s)}`).toContain(s);
      }
    },
  );

  it.each(ENTRIES.filter((e): e is Entry & { run: RunSpec } => 'run' in e).map((e) => [e.command, e] as const))(
    'runs as written: %s',
    async (command, entry) => {
      const bot = await botRepo();
      const ctx: Context = { pkg: entry.run.where === 'package' ? await packageCopy() : '', bot, prefix: path.join(bot.privateDir, 'npm-prefix') };
      const result = await execa('sh', ['-c', command], {
        cwd: entry.run.where === 'package' ? ctx.pkg : bot.dir,
        env: commandEnv(ctx),
        extendEnv: false,
        reject: false,
        timeout: COMMAND_TIMEOUT_MS,
        stdin: 'ignore',
      });
      expect(result.timedOut, `${command} did not end within ${COMMAND_TIMEOUT_MS} ms`).toBe(false);
      expect(result.exitCode, `${command}\n${result.stdout}\n${result.stderr}`).toBe(entry.run.exitCode);
      await entry.run.check({ stdout: result.stdout, stderr: result.stderr }, ctx);
    },
    COMMAND_TIMEOUT_MS * 2,
  );
});

describe('README selfscope commands and flags', () => {
  const helpCache = new Map<string, string>();
  async function help(subcommand: string | null): Promise<string> {
    const key = subcommand ?? '';
    if (!helpCache.has(key)) {
      const { stdout } = await execa(process.execPath, [CLI, ...(subcommand ? [subcommand] : []), '--help'], { timeout: 60_000 });
      helpCache.set(key, stdout);
    }
    return helpCache.get(key)!;
  }
  const flagsOf = (text: string) => new Set([...text.matchAll(/(?:^|[\s,[])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!));
  const GLOBAL_WITH_VALUE = new Set(['--repo', '--config', '--state-dir', '--log-level', '--logs']);

  /** What is wrong with one invocation (the words after `selfscope`), by the CLI's own --help. */
  async function problems(args: string[], foreign: string[] = []): Promise<string[]> {
    const globalHelp = await help(null);
    const commands = new Set([...globalHelp.slice(globalHelp.indexOf('Commands:')).matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!));
    const globals = flagsOf(globalHelp.slice(0, globalHelp.indexOf('Commands:')));
    let subcommand: string | null = null;
    const out: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a.startsWith('--')) {
        const flag = a.split('=')[0]!;
        if (!a.includes('=') && GLOBAL_WITH_VALUE.has(flag)) i++;
        continue;
      }
      if (a.startsWith('-')) continue;
      if (subcommand === null) {
        subcommand = a;
        break;
      }
    }
    if (subcommand !== null && !commands.has(subcommand)) return [`no command "${subcommand}"`];
    const known = new Set([...globals, ...(subcommand ? flagsOf(await help(subcommand)) : [])]);
    for (const a of args) {
      if (!a.startsWith('--')) continue;
      const flag = a.split('=')[0]!;
      if (!known.has(flag) && !foreign.includes(flag)) out.push(`${flag} is not in selfscope ${subcommand ?? ''} --help`);
    }
    return out;
  }

  it('every flag of every selfscope command in a shell block, the synopsis and inline code is in --help', async () => {
    const found: Array<{ where: string; args: string[]; foreign?: string[] }> = [];
    for (const c of COMMANDS) {
      const foreign = entryFor(c.text)[0]?.foreignFlags;
      for (const args of invocations(c.text)) found.push({ where: `README.md:${c.line}: ${c.text}`, args, ...(foreign ? { foreign } : {}) });
    }
    for (const c of inlineCommands(README)) {
      // `selfscope …` stands for any command; in `--task "…"` the ellipsis is a value.
      for (const args of invocations(c.text)) if (args.length > 0 && args[0] !== '…') found.push({ where: `README.md:${c.line}: \`${c.text}\``, args });
    }
    for (const c of synopsisLines(README)) {
      // `selfscope serve [--http [HOST:]PORT …]   what it does`: the command and every --flag of the line.
      const [, sub] = c.text.split(/\s+/);
      found.push({ where: `README.md:${c.line}: ${c.text}`, args: [sub!, ...flagsOf(c.text.split(/ {3,}/)[0]!)] });
    }
    expect(found.length).toBeGreaterThan(20);
    const wrong: string[] = [];
    for (const f of found) for (const p of await problems(f.args, f.foreign)) wrong.push(`${f.where}\n    ${p}`);
    expect(wrong).toEqual([]);
  }, 180_000);

  it('the flag check can fail: it catches a made-up flag and a made-up command', async () => {
    expect(await problems(['status', '--no-such-flag'])).toEqual(['--no-such-flag is not in selfscope status --help']);
    expect(await problems(['frobnicate'])).toEqual(['no command "frobnicate"']);
    expect(await problems(['--logs', 'x/*.ndjson', 'status'])).toEqual([]);
    expect(await problems(['status', '--logs', 'x/*.ndjson', '--logs', 'y/*.ndjson'])).toEqual([]);
  }, 60_000);
});

describe('README configuration snippets match what selfscope writes', () => {
  let repo: TempRepo;
  beforeAll(async () => {
    repo = await botRepo();
  });

  it('the Codex block, the .mcp.json entry and the claude mcp add line are the ones init prints', async () => {
    const result = await runInit({
      repo: repo.dir,
      stateDir: '.selfscope',
      server: { command: 'node', args: [PLACEHOLDER_CLI, 'serve'] },
      dryRun: true,
      checkMaxTimeoutS: checksSchema.parse({}).maxTimeoutS,
    });
    const toml = fencedBlocks(README).filter((b) => b.info === 'toml' && b.lines[0] === '[mcp_servers.selfscope]');
    expect(toml.map((b) => b.lines.join('\n'))).toEqual([result.codexBlock]);
    const json = fencedBlocks(README).filter((b) => b.info === 'json' && b.lines.join('\n').includes('"mcpServers"'));
    expect(json.map((b) => JSON.parse(b.lines.join('\n')) as unknown)).toEqual([{ mcpServers: { selfscope: { command: 'node', args: [PLACEHOLDER_CLI, 'serve'] } } }]);
    expect(COMMANDS.map((c) => c.text)).toContain(result.claudeMcpAdd);
  });

  it('the $schema path is the one init writes, and the package ships the schema there', () => {
    for (const m of README.matchAll(/"\$schema": "([^"]+)"/g)) expect(m[1]).toBe(SCHEMA_REF);
    expect(README).toContain(`"$schema": "${SCHEMA_REF}"`);
    const shipped = SCHEMA_REF.replace('./node_modules/selfscope/', '');
    expect(fs.existsSync(path.join(ROOT, shipped))).toBe(true);
    expect((PKG as unknown as { files: string[] }).files).toContain(shipped.split('/')[0]);
  });

  it('mcp.json, for `claude --mcp-config mcp.json`, starts the built server with flags it has', async () => {
    const mcp = JSON.parse(fs.readFileSync(path.join(ROOT, 'mcp.json'), 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> };
    const server = mcp.mcpServers['selfscope']!;
    expect(server.command).toBe('node');
    expect(path.resolve(ROOT, server.args[0]!)).toBe(CLI);
    expect(server.args[1]).toBe('serve');
    const serveHelp = (await execa(process.execPath, [CLI, 'serve', '--help'])).stdout + (await execa(process.execPath, [CLI, '--help'])).stdout;
    for (const a of server.args.slice(2).filter((x) => x.startsWith('--'))) expect(serveHelp).toContain(a);
  }, 60_000);
});

describe('the README parser', () => {
  it('joins continuation lines, drops comments outside quotes, and finds selfscope invocations', () => {
    const md = ['```sh', 'a --x \\', '  "b # not a comment" # a comment', '# only a comment', '', 'FOO=1 selfscope status --json && npx selfscope --version', '```'].join('\n');
    expect(shellCommands(md).map((c) => c.text)).toEqual(['a --x "b # not a comment"', 'FOO=1 selfscope status --json && npx selfscope --version']);
    expect(invocations('FOO=1 selfscope status --json && npx selfscope --version')).toEqual([['status', '--json'], ['--version']]);
    expect(invocations(`claude mcp add --scope project selfscope -- node ${PLACEHOLDER_CLI} serve --read-only`)).toEqual([['serve', '--read-only']]);
  });
});
