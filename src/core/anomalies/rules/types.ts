import type { ConfigFile } from '../../../config/schema.js';
import type { LogQueryable } from '../../logs/columns.js';
import type { DetectCache } from '../cache.js';
import type { Severity } from '../stats.js';

export const RULES = ['error_rate', 'repeated_error', 'latency_regression', 'new_error', 'cost_spike'] as const;
export type Rule = (typeof RULES)[number];
export type Thresholds = ConfigFile['anomalies'];

/** One rule's finding about one subject: an incident groups the signals of one problem. */
export interface Signal {
  id: string;
  rule: Rule;
  subject: Record<string, string | null>;
  severity: Severity;
  score: number;
  /** The probability of a deviation this large by chance, against the subject's own baseline. */
  p_value: number;
  window: { from: string; to: string };
  baseline: { from: string; to: string };
  observed: Record<string, number | null>;
  expected: Record<string, number | null>;
  onset: string | null;
  last_seen: string | null;
  evidence_query: Record<string, unknown>;
  summary: string;
}

export interface RuleContext {
  logs: LogQueryable;
  at: Date;
  /** The shortest test window; the rules also test 3× and 6× it (Bonferroni-corrected). */
  windowMs: number;
  baselineMs: number;
  /** How far back minute-level data is read: onsets are found within it. */
  lookbackMs: number;
  thresholds: Thresholds;
  matches: (...values: Array<string | null>) => boolean;
  /** Aggregates of past hours kept between evaluations (absent: everything is read). */
  cache?: DetectCache | undefined;
  /** Per evaluation: rules that run the same query share its rows. */
  memo: Map<string, Promise<Array<Record<string, unknown>>>>;
}

/**
 * A detection rule: its SQL and its judgement, in one file. `evaluate` runs the rule's query
 * (one aggregate per rule, whatever the size of the log) and judges each subject.
 */
export interface RuleDefinition {
  name: Rule;
  /** What the rule's subjects are: an operation, a failure fingerprint, a (kind, tool), an agent. */
  subject: 'operation' | 'fingerprint' | 'kind_tool' | 'agent';
  description: string;
  evaluate(ctx: RuleContext): Promise<Signal[]>;
}
