import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFileSchema } from '../../../src/config/schema.js';
import { detectAnomalies, groupSignals, type Anomaly, type Signal } from '../../../src/core/anomalies/detect.js';
import { getAnomaly, updateAnomalyState } from '../../../src/core/anomalies/state.js';
import type { LogIndex } from '../../../src/core/logs/log-index.js';
import type { LineOptions } from '../../helpers/log-lines.js';
import { indexLines } from '../../helpers/log-index.js';

const AT = Date.parse('2026-03-13T12:00:00Z');
const MIN = 60_000;
const thresholds = configFileSchema.parse({}).anomalies;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function indexOf(lines: LineOptions[]): Promise<LogIndex> {
  const { index, close } = await indexLines(lines, 'selfscope-grouping-');
  cleanups.push(close);
  return index;
}

const ok = (tool: string, t: number, session = 'vs-ok'): LineOptions => ({ ts: new Date(t), kind: 'voice_runtime', event: 'realtime_tool_call_completed', metadata: { toolName: tool, sessionId: session, runtimeMs: 300, error: null } });

function signal(rule: Signal['rule'], subject: Record<string, string | null>, onsetMin: number, lastMin: number, id = `an-${rule.slice(0, 3)}${Object.values(subject).join('').length}`): Signal {
  return {
    id,
    rule,
    subject,
    severity: 'medium',
    score: 1.5,
    p_value: 0,
    window: { from: new Date(AT - 10 * MIN).toISOString(), to: new Date(AT).toISOString() },
    baseline: { from: new Date(AT - 7 * 86_400_000).toISOString(), to: new Date(AT - 10 * MIN).toISOString() },
    observed: {},
    expected: {},
    onset: new Date(AT - onsetMin * MIN).toISOString(),
    last_seen: new Date(AT - lastMin * MIN).toISOString(),
    evidence_query: {},
    summary: rule,
  };
}

describe('one anomaly per incident', () => {
  it('groups a music outage (error rate and four new messages of one tool, and a stream error in the same sessions) into one incident', async () => {
    const background = Array.from({ length: 2 * 24 * 12 }, (_, i) => ok('music_play', AT - 2 * 86_400_000 + i * 5 * MIN));
    const messages = ['ytdl 410 Gone', 'stream ended early', 'no audio format', 'player not connected'];
    const outage: LineOptions[] = [];
    for (let m = 0; m < 20; m++) {
      const t = AT - 20 * MIN + m * MIN;
      const session = `vs-${m}`;
      outage.push(ok('music_play', t, session));
      for (let k = 0; k < 2; k++) {
        outage.push({ ts: new Date(t + (k + 1) * 10_000), kind: 'voice_error', event: 'realtime_tool_call_failed', metadata: { toolName: 'music_play', sessionId: session, error: messages[(m + k) % 4] } });
      }
      outage.push({ ts: new Date(t + 40_000), kind: 'bot_error', event: 'audio_pipeline_error: ffmpeg exited with code 1', agent: 'bot', metadata: { sessionId: session } });
    }
    const found = await detectAnomalies(await indexOf([...background, ...outage]), { at: new Date(AT), thresholds });
    expect(found).toHaveLength(1);
    const [incident] = found;
    expect(incident!.rule).toBe('error_rate');
    expect(incident!.subject['operation']).toBe('music_play');
    const rules = incident!.signals.map((s) => s.rule);
    expect(rules[0]).toBe('error_rate');
    expect(rules.filter((r) => r === 'new_error').length).toBeGreaterThanOrEqual(4);
    // The stream error joined by its sessions, though it names no tool.
    expect(incident!.signals.some((s) => s.subject['kind'] === 'bot_error')).toBe(true);
  });

  it('keeps unrelated incidents apart: another tool, hours apart', () => {
    const groups = groupSignals([
      signal('error_rate', { operation: 'music_play', tool_name: 'music_play' }, 20, 0),
      signal('new_error', { kind: 'voice_error', tool_name: 'music_play', fingerprint: 'a' }, 19, 0),
      signal('latency_regression', { operation: 'web_search', tool_name: 'web_search' }, 300, 0),
      signal('new_error', { kind: 'tts_error', tool_name: null, fingerprint: 'b' }, 600, 400),
    ]);
    expect(groups.map((g) => g.map((s) => s.rule))).toEqual([['error_rate', 'new_error'], ['latency_regression'], ['new_error']]);
  });

  it('groups findings about one operation only while their spans overlap', () => {
    const groups = groupSignals([signal('new_error', { kind: 'voice_error', tool_name: 'music_play', fingerprint: 'a' }, 600, 500), signal('error_rate', { operation: 'music_play', tool_name: 'music_play' }, 20, 0)]);
    expect(groups).toHaveLength(2);
  });

  it('keeps an incident its id when another signal joins and leads it', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'selfscope-grouping-state-'));
    cleanups.push(() => fs.rm(dir, { recursive: true, force: true }));
    const fresh = signal('new_error', { kind: 'voice_error', tool_name: 'music_play', fingerprint: 'a' }, 20, 0, 'an-aaaaaaaaaaaa');
    const rate = signal('error_rate', { operation: 'music_play', tool_name: 'music_play' }, 20, 0, 'an-bbbbbbbbbbbb');
    const incident = (signals: Signal[]): Anomaly => ({ ...signals[0]!, samples: [], signals });
    const first = [incident([fresh])];
    const opened = await updateAnomalyState(dir, first, new Date(AT), 30 * MIN);
    expect(opened.opened.map((a) => a.id)).toEqual(['an-aaaaaaaaaaaa']);
    const later = [incident([rate, fresh])];
    const changes = await updateAnomalyState(dir, later, new Date(AT + 5 * MIN), 30 * MIN);
    expect(changes.opened).toEqual([]);
    expect(later[0]!.id).toBe('an-aaaaaaaaaaaa');
    const rec = await getAnomaly(dir, 'an-aaaaaaaaaaaa');
    expect(rec?.rule).toBe('error_rate');
    expect(rec?.signal_ids).toEqual(expect.arrayContaining(['an-aaaaaaaaaaaa', 'an-bbbbbbbbbbbb']));
  });
});
