import costSpike from './cost-spike.js';
import errorRate from './error-rate.js';
import latencyRegression from './latency-regression.js';
import newError from './new-error.js';
import repeatedError from './repeated-error.js';
import type { RuleDefinition } from './types.js';

/** The table of rules: a new rule is one file here and its test. */
export const RULE_TABLE: readonly RuleDefinition[] = [errorRate, repeatedError, latencyRegression, newError, costSpike];

export { RULES, type Rule, type RuleContext, type RuleDefinition, type Signal, type Thresholds } from './types.js';
