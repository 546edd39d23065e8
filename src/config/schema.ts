import { z } from 'zod';
import { webUrlProblem } from '../core/github/remote.js';

/**
 * The configuration file `selfscope.config.json`, with defaults that read the bot's
 * runtime action log (see the README's configuration reference) with zero configuration.
 * Every key has a default, so `{}` is a complete configuration.
 */

const argv = z.array(z.string().min(1)).min(1).describe('A command as an argv array (no shell).');

export const schemaMappingSchema = z
  .object({
    time: z.string().default('ts').describe('Field holding the ISO-8601 event time.'),
    level: z.string().default('level'),
    kind: z.string().default('kind'),
    event: z.string().default('event'),
    agent: z.string().default('agent'),
    content: z.string().default('content'),
    metadata: z.string().default('metadata'),
    cost: z.string().default('usd_cost'),
    latencyPaths: z
      .array(z.string())
      .default([
        'metadata.durationMs',
        'metadata.runtimeMs',
        'metadata.latencyMs',
        'metadata.elapsedMs',
        'metadata.totalMs',
        'metadata.performance.totalMs',
      ])
      .describe('Paths coalesced, first present wins, into latency_ms.'),
    latencyExclude: z
      .array(z.string().max(120))
      .max(100)
      .default(['voice_session_end', 'voice_session_ended', 'voice_turn_finalized', 'voice_turn_dropped*'])
      .describe("Kinds or event names (exact, or globs with *) whose durations measure a length (a voice session, a captured utterance), not a call's latency: their latency_ms stays null; the value stays in metadata."),
    errorPath: z
      .union([z.string(), z.array(z.string()).min(1).max(10)])
      .default(['metadata.error', 'metadata.errorMessage'])
      .describe("Path(s) of a failure's message, first present wins (a string, or an object's message). Without one, a failing line's message is the text after its event name in content (`voice_tool_music_play_failed: Video unavailable`), or the whole content where the event is not a name (llm_error)."),
    toolNamePath: z.string().default('metadata.toolName'),
    instance: z.string().default('instance').describe('Field naming the bot instance that wrote the line.'),
    freeTextKinds: z
      .array(z.string().max(120))
      .max(200)
      .default(['*_call', 'llm_error', 'sent_reply', 'sent_message', 'reply_skipped', 'search_error', 'tts_error', 'asr_error', 'image_error', 'gif_error', 'video_error', 'browser_browse_failed', 'memory_embedding_error', 'voice_session_end'])
      .describe("Kinds (exact, or globs with *) whose event is free text (a reply, a query, a URL, a model, an error message): their operation is the kind without its _call/_error/_failed suffix, never the event."),
    duplicateWindowMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(10_000)
      .describe('A failure of the same operation, instance and session (or call, turn, message) within this many ms of an earlier one is the same failure logged again: duplicate = true. 0 turns it off.'),
    correlationKeys: z
      .object({
        sessionId: z.string().default('metadata.sessionId'),
        turnId: z.string().default('metadata.turnId'),
        triggerMessageId: z
          .union([z.string(), z.array(z.string()).min(1).max(10)])
          .default(['metadata.triggerMessageId', 'metadata.messageId'])
          .describe('Path(s) of the message a line answers, first present wins (an llm_call names it metadata.messageId).'),
        triggerMessageIds: z.string().default('metadata.triggerMessageIds').describe('Path of the list of messages a coalesced turn answers.'),
        callId: z.string().default('metadata.callId'),
      })
      .prefault({}),
  })
  .prefault({});

export const limitsSchema = z
  .object({
    resultRows: z.number().int().min(1).max(5000).default(500).describe('Most rows one result may carry.'),
    fieldBytes: z.number().int().min(256).max(1_000_000).default(2048).describe('Most bytes of one value (string, or nested value in sql mode) in a log-derived result before it is cut; at least 256 so ids and paging cursors fit.'),
    resultBytes: z
      .number()
      .int()
      .min(4096)
      .max(5_000_000)
      .default(40_000)
      .describe(
        "Most bytes of one tool result (structured and text together). The default keeps every result under ~15,000 tokens, however dense its JSON (Claude Code warns over 10,000 and drops a result over 25,000); a longer list is cut and says how to get the next page.",
      ),
    queryTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    lineBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024).describe('Longest log line indexed in full; longer lines are stored cut.'),
    memoryLimit: z.string().default('256MB').describe('DuckDB memory limit of the log index (its buffer pool). A large catch-up peaks at roughly this plus 250–300 MB of process memory; queries that need more spill to the state directory.'),
    threads: z.number().int().min(1).max(64).default(2).describe("DuckDB's threads for the log index. A large catch-up runs one statement at a time per two of them, each on one thread (the others are given back when it ends)."),
  })
  .prefault({});

export const checksSchema = z
  .object({
    typecheck: argv.optional().describe('Typecheck command; default: the package.json script, else tsc --noEmit.'),
    test: argv.optional().describe('Test command; default: the package.json "test" script.'),
    runner: z
      .enum(['vitest', 'jest', 'node-test', 'bun-test'])
      .optional()
      .describe('The runner the test command runs, for a command selfscope cannot take apart (a wrapper script, `make test`). A test run counts only when this runner\'s own report shows at least one executed test and no failure; a command whose runner is unknown is run but never counts. The wrapper then stands between the runner and its report: add it to git.sensitivePaths.'),
    timeoutS: z.number().int().min(1).max(7200).default(600),
    maxTimeoutS: z.number().int().min(1).max(7200).default(1800),
    maxConcurrent: z.number().int().min(1).max(16).default(2).describe('Checks that run at once in one selfscope process (one at a time per worktree); more wait their turn. At most 3 may run or wait in one worktree.'),
    outputBytes: z.number().int().min(4096).max(512 * 1024 * 1024).default(8 * 1024 * 1024).describe('Output kept per stream; the rest is counted and dropped.'),
    envAllowlist: z
      .array(z.string())
      .default(['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TERM', 'CI', 'TMPDIR', 'USER', 'SHELL', 'NODE_OPTIONS', 'BUN_INSTALL'])
      .describe('Environment variables passed to checks; nothing else reaches test code.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra variables set for checks (never put secrets here).'),
    sandbox: z
      .enum(['bwrap', 'off'])
      .default('bwrap')
      .describe('"bwrap": every check runs in a bubblewrap sandbox (state, private directory and HOME hidden; own PID namespace). "off": unsandboxed, test code can read selfscope\'s private state and keys, reach the network and leave processes behind. Where bwrap cannot start, checks run unsandboxed and never count for a commit.'),
    network: z.boolean().default(false).describe('Let sandboxed checks reach the network (default: loopback only).'),
    gate: z
      .enum(['strict', 'no_new_failures'])
      .default('strict')
      .describe('What git_commit needs of the tests. "strict": every test passed on the tree. "no_new_failures": typecheck passed on the tree and no test fails there that passed on the base (the merge-base with the default branch) or that the branch adds; failures the base has too (pre-existing) and failures that pass when rerun alone (flaky) do not block. The base\'s full run is recorded like any other, and run once per base tree.'),
  })
  .prefault({});

/**
 * The default of git.sensitivePaths. Besides what is security-sensitive in itself, every file
 * that can redefine what "typecheck and tests passed" means, or what a tree holds, is here:
 * otherwise an agent could make the gate pass by editing the definition instead of the code.
 */
export const DEFAULT_SENSITIVE_PATHS: readonly string[] = [
  // security, review and selfscope's own configuration
  '.github/**',
  '**/.github/**',
  '.env*',
  '**/.env*',
  '.npmrc',
  '**/.npmrc',
  'CODEOWNERS',
  '**/CODEOWNERS',
  '**/permissions/**',
  '**/selfscope.config.json',
  '**/.mcp.json',
  '**/.claude/**',
  // package manifests, lockfiles and package-manager configuration (scripts, dependencies, install hooks)
  '**/package.json',
  '**/package-lock.json',
  '**/npm-shrinkwrap.json',
  '**/yarn.lock',
  '**/pnpm-lock.yaml',
  '**/pnpm-workspace.yaml',
  '**/bun.lock',
  '**/bun.lockb',
  '**/.yarnrc*',
  '**/.yarn/releases/**',
  '**/.yarn/plugins/**',
  '**/.pnpmfile.cjs',
  // the typecheck's definition
  '**/tsconfig*.json',
  '**/jsconfig*.json',
  // test runners' configuration, workspaces and setup files, and the transforms they use
  '**/vitest.*',
  '**/vite.config.*',
  '**/jest.*',
  '**/bunfig.toml',
  '**/.mocharc*',
  '**/babel.config.*',
  '**/.babelrc*',
  '**/.swcrc',
  // what git puts in a tree (and so what was tested is what is committed)
  '**/.gitattributes',
  '**/.gitmodules',
  '**/.gitignore',
];

export const gitSchema = z
  .object({
    branchPrefix: z.string().default('selfscope/'),
    defaultBranch: z.string().optional().describe('Base for new branches; default: the remote HEAD, else main/master.'),
    protectedBranches: z.array(z.string()).default(['main', 'master']),
    sensitivePaths: z
      .array(z.string())
      .default(() => [...DEFAULT_SENSITIVE_PATHS])
      .describe(
        'Globs (picomatch, dot files included) a commit may touch only with a human approval. Default, at any depth: CI workflows (.github/**), .env files, .npmrc, CODEOWNERS, permissions code; selfscope.config.json, .mcp.json and .claude/**; what decides what "typecheck and tests passed" means: package manifests and lockfiles (package.json, package-lock.json, npm-shrinkwrap.json, yarn.lock, pnpm-lock.yaml, pnpm-workspace.yaml, bun.lock, bun.lockb, .yarnrc*, .yarn/releases, .yarn/plugins, .pnpmfile.cjs), tsconfig*.json and jsconfig*.json, test-runner and transform configuration (vitest.*, vite.config.*, jest.*, bunfig.toml, .mocharc*, babel.config.*, .babelrc*, .swcrc); and .gitattributes, .gitmodules, .gitignore (they change what a tree holds).',
      ),
    remote: z.string().default('origin'),
    elicitationApproves: z
      .boolean()
      .default(false)
      .describe(
        "Let a confirmation answered in the MCP client (elicitation) approve a commit of security-sensitive files. Off by default: a client can answer confirmations by itself (an agent's own client, a script, an auto-accept setting), so an answer does not prove a person saw the change. Turn it on only for clients that a person answers by hand. Otherwise a person approves at a terminal with `selfscope approve --tree ID`. Never approves a merge.",
      ),
  })
  .prefault({});

export const githubSchema = z
  .object({
    owner: z.string().optional().describe('Default: parsed from the remote URL.'),
    repo: z.string().optional(),
    apiUrl: z.string().url().default('https://api.github.com'),
    webUrl: z
      .string()
      .url()
      .refine((v) => webUrlProblem(v) === null, { message: 'must be https:// (http:// only for a loopback host), without credentials, query or fragment' })
      .default('https://github.com')
      .describe('GitHub web base that branches are pushed to, as https://<host>/<owner>/<repo>.git with the token (GitHub Enterprise: https://github.example.com). http:// only for a loopback host.'),
    approvers: z
      .array(z.string())
      .default([])
      .describe("GitHub logins whose approving review, on the pull request's current head, counts as a human approval of its merge. Checked on GitHub at every merge, never stored; a review by the token's own account never counts."),
    allowedUserIds: z
      .array(z.string())
      .default([])
      .describe("Bot user ids (devPermissions.allowedUserIds) who may approve a merge through the bot's own process: the TypeScript API (mergePullRequest or approveMerge with approvedByUserId). No command line or tool takes a user id."),
    tokenFile: z
      .string()
      .optional()
      .describe('A file holding the GitHub token, read instead of GITHUB_TOKEN. The session launcher hands the token to the selfscope server its agent starts this way (SELFSCOPE_GITHUB__TOKEN_FILE, a 0600 file in the private directory removed when the session ends), so the agent itself never holds it.'),
  })
  .prefault({});

export const anomaliesSchema = z
  .object({
    window: z.string().default('10m').describe('The shortest test window; the rules also test 3× and 6× it.'),
    baseline: z.string().default('7d'),
    lookback: z.string().default('6h').describe('How far back minute-level data is read each evaluation: onsets are dated within it, and an incident this long stays out of its own baseline.'),
    quietPeriod: z.string().default('30m').describe('An anomaly resolves after its rule has been quiet this long.'),
    maxSamples: z.number().int().min(0).max(3).default(3),
    significance: z.number().gt(0).max(0.1).default(1e-5).describe('The chance probability (p-value, corrected for the windows tested) under which a deviation from the baseline is reported.'),
    errorRate: z
      .object({
        threshold: z.number().min(0).max(1).default(0.15).describe('The least failure rate worth reporting, however significant.'),
        minFailures: z.number().int().min(1).default(4),
        baselineFactor: z.number().min(1).default(2).describe('…and at least this many times the baseline rate'),
      })
      .prefault({}),
    repeatedError: z
      .object({
        count: z.number().int().min(1).default(5).describe('The least count in a window worth reporting.'),
        baselineFactor: z.number().min(1).default(3).describe('…and this many times the count expected at the current traffic'),
      })
      .prefault({}),
    latencyRegression: z
      .object({ factor: z.number().min(1).default(2), minSamples: z.number().int().min(1).default(10), minBaselineSamples: z.number().int().min(1).default(50) })
      .prefault({}),
    newError: z
      .object({
        count: z.number().int().min(1).default(3).describe('Reported from this occurrence on.'),
        newFor: z.string().default('24h').describe('An error first seen this recently (and never in the baseline before) is new.'),
        recurWithin: z.string().default('1h').describe('A new error keeps firing while it recurred this recently.'),
      })
      .prefault({}),
    costSpike: z.object({ factor: z.number().min(1).default(3), floorUsdPerHour: z.number().min(0).default(0.5) }).prefault({}),
  })
  .prefault({});

export const watchSchema = z
  .object({
    intervalS: z.number().int().min(1).default(30),
    webhookUrl: z.string().url().optional().describe('Discord webhook of the dev channel. Prefer SELFSCOPE_WEBHOOK_URL: it is a secret.'),
    hook: argv.optional().describe('Command run with the anomaly as JSON on stdin.'),
    hookTimeoutS: z.number().int().min(1).default(60),
    cooldown: z.string().default('1h'),
    maxPerHour: z.number().int().min(1).default(6),
    paused: z.boolean().default(false).describe('Dev mode: hooks are not run (reports still are). Also: the file <stateDir>/paused.'),
    dailyBudget: z.object({ launches: z.number().int().min(0).default(5), usd: z.number().min(0).default(5) }).prefault({}),
  })
  .prefault({});

// `name` or `name:port`, IPv6 in brackets; a comma-separated string too (for the environment).
const allowedHost = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$/, 'a host name, name:port, or [IPv6]:port (no scheme, no path)');
const allowedHostList = z.union([
  z.array(allowedHost),
  z.string().transform((s) => s.split(',').map((h) => h.trim()).filter(Boolean)).pipe(z.array(allowedHost)),
]);

export const httpSchema = z
  .object({
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    sessionIdleS: z
      .number()
      .positive()
      .default(300)
      .describe('An HTTP session with no request in flight and no open event stream for this many seconds is ended (fractions allowed).'),
    maxSessions: z
      .number()
      .int()
      .min(1)
      .default(32)
      .describe('Most HTTP sessions at once. When reached, the least recently used idle session is ended to admit a new client; 503 only when every session has a request in flight.'),
    allowedHosts: allowedHostList
      .default([])
      .describe(
        'Host names (name, or name:port for that port only) accepted in the Host and Origin headers besides the server\'s own: for a 0.0.0.0 bind or a reverse proxy. Loopback names with the port are always accepted on a loopback bind, and from loopback peers on a 0.0.0.0 bind.',
      ),
    allowedOrigins: z.array(z.string()).default([]).describe('Extra Origins allowed as written (e.g. https://app.example), besides those of the allowed hosts.'),
  })
  .prefault({});

// A list of names, or a comma-separated string (for the environment and flags).
const nameList = z.union([z.array(z.string().min(1)), z.string().transform((s) => s.split(',').map((n) => n.trim()).filter(Boolean))]);

/** What the MCP server registers. Names are checked against the registry when the server starts. */
export const serverSchema = z
  .object({
    readOnly: z
      .boolean()
      .default(false)
      .describe('Register only tools whose readOnlyHint is true, and only the prompts and resources those tools serve (serve --read-only, SELFSCOPE_SERVER__READ_ONLY=true).'),
    toolsets: z
      .union([z.literal('all'), nameList])
      .default('all')
      .describe('"all", or the toolsets registered: core, logs, anomalies, checks, git; core is always on (serve --toolsets, SELFSCOPE_SERVER__TOOLSETS=logs,anomalies).'),
    allowTools: z
      .union([z.literal('all'), nameList])
      .default('all')
      .describe('"all", or the only tools registered besides core (selfscope_status); the other filters still apply (serve --allow-tools, SELFSCOPE_SERVER__ALLOW_TOOLS=a,b).'),
    denyTools: nameList
      .default([])
      .describe('Tools never registered, whatever the other keys say (serve --deny-tools, SELFSCOPE_SERVER__DENY_TOOLS=git_pr_merge).'),
  })
  .prefault({});

/** How selfscope's worktrees are made ready to run the repository's checks like its main checkout. */
export const worktreeSchema = z
  .object({
    dir: z
      .string()
      .optional()
      .describe('Where branch worktrees are created (absolute, or relative to the repository root). Default: <stateDir>/worktrees. Never inside (or containing) the private directory or the repository; inside the repository only where git ignores it.'),
    setup: z
      .array(argv)
      .max(20)
      .default([])
      .describe('Commands run, in order, in a new worktree before it is returned, inside the same sandbox as checks (e.g. [["bun","run","build:ui"]]). A failure removes the worktree and reports the output tail.'),
    setupTimeoutS: z.number().int().min(1).max(7200).default(600).describe('Time limit of each setup command.'),
    copy: z
      .array(z.string().min(1).max(1000))
      .max(50)
      .default([])
      .describe('Paths (relative to the repository root) that git ignores, copied from the main checkout into a new worktree: build outputs the tests need (e.g. "dashboard/dist"). Copied, not linked, so a rebuild in the worktree never writes into the live checkout.'),
  })
  .prefault({});

export const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    repo: z.string().optional().describe('Repository root. Default: the git top level (the main checkout when started in a linked worktree).'),
    logs: z
      .array(z.string().min(1))
      .min(1)
      .default(['data/logs/*.ndjson'])
      .describe('Globs of NDJSON log files, relative to the repository root. A match is read only if its real path (symlinks resolved) is inside the repository; to read logs kept outside it, name their directory with an absolute (or ../) glob: then files whose real path is under that directory are read.'),
    stateDir: z.string().default('.selfscope').describe('State directory (log index, worktrees, run output, proposals), relative to the repository root.'),
    privateDir: z
      .string()
      .optional()
      .describe('Private state (record key, signed records, approvals, anomaly state, audit log), outside the repository so no worktree, check or agent sandbox reaches it. Default: $XDG_STATE_HOME/selfscope/<repo>-<hash> (~/.local/state/...).'),
    schema: schemaMappingSchema,
    limits: limitsSchema,
    checks: checksSchema,
    git: gitSchema,
    github: githubSchema,
    anomalies: anomaliesSchema,
    watch: watchSchema,
    http: httpSchema,
    server: serverSchema,
    worktree: worktreeSchema,
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ConfigFileInput = z.input<typeof configFileSchema>;
