import { z } from 'zod';

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
    errorPath: z.string().default('metadata.error').describe('Path of the failure message.'),
    toolNamePath: z.string().default('metadata.toolName'),
    correlationKeys: z
      .object({
        sessionId: z.string().default('metadata.sessionId'),
        turnId: z.string().default('metadata.turnId'),
        triggerMessageId: z.string().default('metadata.triggerMessageId'),
        callId: z.string().default('metadata.callId'),
      })
      .prefault({}),
  })
  .prefault({});

export const limitsSchema = z
  .object({
    resultRows: z.number().int().min(1).max(5000).default(500).describe('Most rows one result may carry.'),
    fieldBytes: z.number().int().min(64).max(1_000_000).default(2048).describe('Most bytes of one field in a result before it is cut.'),
    resultBytes: z.number().int().min(4096).max(5_000_000).default(60_000).describe('Most bytes of one tool result.'),
    queryTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    lineBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024).describe('Longest log line indexed in full; longer lines are stored cut.'),
    memoryLimit: z.string().default('512MB').describe('DuckDB memory limit.'),
    threads: z.number().int().min(1).max(64).default(2),
  })
  .prefault({});

export const checksSchema = z
  .object({
    typecheck: argv.optional().describe('Typecheck command; default: the package.json script, else tsc --noEmit.'),
    test: argv.optional().describe('Test command; default: the package.json "test" script.'),
    timeoutS: z.number().int().min(1).max(7200).default(600),
    maxTimeoutS: z.number().int().min(1).max(7200).default(1800),
    outputBytes: z.number().int().min(4096).max(512 * 1024 * 1024).default(8 * 1024 * 1024).describe('Output kept per stream; the rest is counted and dropped.'),
    envAllowlist: z
      .array(z.string())
      .default(['PATH', 'HOME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TERM', 'CI', 'TMPDIR', 'USER', 'SHELL', 'NODE_OPTIONS', 'BUN_INSTALL'])
      .describe('Environment variables passed to checks; nothing else reaches test code.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra variables set for checks (never put secrets here).'),
  })
  .prefault({});

export const gitSchema = z
  .object({
    branchPrefix: z.string().default('selfscope/'),
    defaultBranch: z.string().optional().describe('Base for new branches; default: the remote HEAD, else main/master.'),
    protectedBranches: z.array(z.string()).default(['main', 'master']),
    sensitivePaths: z
      .array(z.string())
      .default(['.github/**', '.env*', '**/.env*', '.npmrc', '**/.npmrc', 'CODEOWNERS', '**/CODEOWNERS', 'selfscope.config.json', '.mcp.json', '**/permissions/**'])
      .describe('Globs a commit may touch only with a human approval.'),
    remote: z.string().default('origin'),
  })
  .prefault({});

export const githubSchema = z
  .object({
    owner: z.string().optional().describe('Default: parsed from the remote URL.'),
    repo: z.string().optional(),
    apiUrl: z.string().url().default('https://api.github.com'),
    approvers: z.array(z.string()).default([]).describe('GitHub logins whose approving review counts as human approval.'),
    allowedUserIds: z.array(z.string()).default([]).describe("Bot user ids (devPermissions.allowedUserIds) allowed to approve a merge through `selfscope merge --approved-by`."),
  })
  .prefault({});

export const anomaliesSchema = z
  .object({
    window: z.string().default('10m'),
    baseline: z.string().default('7d'),
    quietPeriod: z.string().default('30m').describe('An anomaly resolves after its rule has been quiet this long.'),
    maxSamples: z.number().int().min(0).max(3).default(3),
    errorRate: z
      .object({ threshold: z.number().min(0).max(1).default(0.3), minSamples: z.number().int().min(1).default(20), baselineFactor: z.number().min(1).default(2) })
      .prefault({}),
    repeatedError: z.object({ count: z.number().int().min(1).default(10), baselineFactor: z.number().min(1).default(2).describe('…and this many times its usual count per window') }).prefault({}),
    latencyRegression: z
      .object({ factor: z.number().min(1).default(2), minSamples: z.number().int().min(1).default(20), minBaselineSamples: z.number().int().min(1).default(50) })
      .prefault({}),
    newError: z.object({ count: z.number().int().min(1).default(3) }).prefault({}),
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

export const httpSchema = z
  .object({
    maxBodyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    sessionIdleS: z.number().int().min(1).default(1800).describe('An HTTP session idle this long is ended.'),
    maxSessions: z.number().int().min(1).default(32),
    allowedOrigins: z.array(z.string()).default([]).describe('Extra Origins allowed besides the server\'s own host.'),
  })
  .prefault({});

export const configFileSchema = z
  .object({
    $schema: z.string().optional(),
    repo: z.string().optional().describe('Repository root. Default: the git top level (the main checkout when started in a linked worktree).'),
    logs: z.array(z.string().min(1)).min(1).default(['data/logs/*.ndjson']).describe('Globs of NDJSON log files, relative to the repository root.'),
    stateDir: z.string().default('.selfscope').describe('State directory (index, records, audit log), relative to the repository root.'),
    schema: schemaMappingSchema,
    limits: limitsSchema,
    checks: checksSchema,
    git: gitSchema,
    github: githubSchema,
    anomalies: anomaliesSchema,
    watch: watchSchema,
    http: httpSchema,
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ConfigFileInput = z.input<typeof configFileSchema>;
