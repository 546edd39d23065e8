import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';

// Each action imports what it runs: a command loads only its own modules (`selfscope serve` starts sooner).

export function registerAnomalyCommands(program: Command): void {
  program
    .command('anomalies')
    .description('the current anomaly report: what the rules find in the logs now')
    .option('--at <time>', 'evaluate as of a past time (ISO or relative)')
    .option('--window <duration>', 'e.g. 10m')
    .option('--baseline <duration>', 'e.g. 7d')
    .option('--json', 'machine-readable output')
    .action(async (o: { at?: string; window?: string; baseline?: string; json?: boolean }, command: Command) => {
      const [{ createCliApp }, { catchUpLogIndex }, { runToolInProcess }, { renderTable }, { humanAgeOf }, { default: detectAnomaliesTool }] = await Promise.all([
        import('../context.js'),
        import('../progress.js'),
        import('../run-tool.js'),
        import('../table.js'),
        import('../../core/text/durations.js'),
        import('../../tools/detect-anomalies.js'),
      ]);
      const app = await createCliApp(command.optsWithGlobals<GlobalOptions>(), { transport: 'in-process', readOnly: true, toolsets: undefined });
      try {
        await catchUpLogIndex(app, { json: o.json === true });
        const result = await runToolInProcess(app, detectAnomaliesTool, { ...(o.at ? { at: o.at } : {}), ...(o.window ? { window: o.window } : {}), ...(o.baseline ? { baseline: o.baseline } : {}) });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(result.structured, null, 2)}\n`);
          return;
        }
        const anomalies = (result.structured['anomalies'] as Array<{ id: string; rule: string; severity: string; summary: string; onset: string | null; signals?: Array<{ rule: string }> }>) ?? [];
        const rulesOf = (a: (typeof anomalies)[number]) => [...new Set((a.signals ?? []).map((x) => x.rule))].join('+') || a.rule;
        process.stdout.write(anomalies.length ? `${renderTable(['severity', 'rules', 'id', 'since', 'summary'], anomalies.map((a) => [a.severity, rulesOf(a), a.id, humanAgeOf(a.onset) ?? '', a.summary]), 120)}\n` : `${result.text}\n`);
      } finally {
        await app.close();
      }
    });

  program
    .command('watch')
    .description('run the rules continuously; notify the dev channel (webhook) and run the hook once per incident')
    .option('--interval <seconds>', 'seconds between evaluations (default watch.intervalS)', Number)
    .option('--once', 'evaluate once, notify what is due, print it and exit')
    .option('--dry-run', 'with --once: print what would be notified, send and record nothing')
    .action(async (o: { interval?: number; once?: boolean; dryRun?: boolean }, command: Command) => {
      const [{ createCliApp }, { catchUpLogIndex }, { getLogIndex }, { Watcher }, { emptyIndexNotice }, { humanDuration }] = await Promise.all([
        import('../context.js'),
        import('../progress.js'),
        import('../../server/engines.js'),
        import('../../core/anomalies/watcher.js'),
        import('../../core/logs/index-coverage.js'),
        import('../../core/text/durations.js'),
      ]);
      const app = await createCliApp(command.optsWithGlobals<GlobalOptions>(), { transport: 'in-process', readOnly: true, toolsets: undefined });
      // The first index of a big log takes a while: show it on a terminal (stdout keeps the NDJSON).
      await catchUpLogIndex(app);
      const index = await getLogIndex(app);
      const watcher = new Watcher({
        index,
        config: app.config,
        logger: app.logger,
        emit: (line) => process.stdout.write(`${line}\n`),
        webhookUrl: process.env['SELFSCOPE_WEBHOOK_URL'] || app.config.watch.webhookUrl,
      });
      const notice = await emptyIndexNotice(index, app.config.repo, app.config.logs);
      if (o.once || o.dryRun) {
        try {
          if (notice) {
            process.stderr.write(`selfscope watch: ${notice}\n`);
            return;
          }
          const result = await watcher.evaluate({ force: true, dryRun: o.dryRun === true });
          // Notifications are NDJSON on stdout (emitted as they are sent); a dry run prints its own.
          if (o.dryRun) for (const n of result.notifications) process.stdout.write(`${JSON.stringify(n)}\n`);
          if (result.notifications.length === 0) {
            const already = result.open.filter((a) => a.notified_at !== null);
            process.stderr.write(
              result.open.length
                ? `selfscope watch: nothing new to notify; ${result.open.length} open incident${result.open.length === 1 ? '' : 's'}${already.length ? `, notified already: ${already.map((a) => `${a.id} [${a.severity}] at ${a.notified_at}`).join(', ')}` : ''}\n`
                : 'selfscope watch: no anomaly\n',
            );
          }
        } finally {
          await app.close();
        }
        return;
      }
      if (notice) process.stderr.write(`selfscope watch: ${notice} Watching for it.\n`);
      const interval = (o.interval ?? app.config.watch.intervalS) * 1000;
      process.stderr.write(`selfscope watch: every ${humanDuration(interval)} over ${app.config.logs.join(', ')}${(await watcher.isPaused()) ? ' (dev mode: hooks paused)' : ''}\n`);
      const stop = watcher.start(interval);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      stop();
      await app.close();
    });
}
