/**
 * Spans of time and ages as people write them: "340 ms", "4.2 s", "3 min 12 s", "3 h 12 min",
 * "2 days 4 h", "278 days"; "just now", "12 s ago". The one way selfscope prints a duration
 * or an age for a reader (tool texts, CLI tables, notifications); structured results keep
 * their numbers (`*_ms`) and ISO times.
 *
 * At most two units; the second is left out when it is zero, or when the first is 10 or
 * more (then it is noise: "14 h", not "14 h 5 min"). Rounded to the last unit shown, so
 * 59 min 50 s reads "1 h", never "60 min".
 */

interface Step {
  ms: number;
  name: (n: number) => string;
  /** The unit below it, the precision of the two-unit form. */
  sub: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Largest first: the first step the span reaches is the one it is written in.
const STEPS: readonly Step[] = [
  { ms: DAY, name: (n) => (n === 1 ? 'day' : 'days'), sub: HOUR },
  { ms: HOUR, name: () => 'h', sub: MINUTE },
  { ms: MINUTE, name: () => 'min', sub: SECOND },
];

/** Ages under this read "just now". */
export const JUST_NOW_MS = 10 * SECOND;

function oneDecimal(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** A span of time (milliseconds; the sign is ignored) as people write it. */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  const abs = Math.abs(ms);
  if (abs < SECOND) {
    if (abs < 9.95) return `${oneDecimal(abs)} ms`;
    if (Math.round(abs) < SECOND) return `${Math.round(abs)} ms`;
    return humanDuration(SECOND);
  }
  if (abs < 10 * SECOND) return `${oneDecimal(abs / SECOND)} s`;
  if (abs < MINUTE) {
    const s = Math.round(abs / SECOND);
    return s < 60 ? `${s} s` : humanDuration(MINUTE);
  }
  for (const [i, step] of STEPS.entries()) {
    if (abs < step.ms) continue;
    if (abs >= 10 * step.ms) {
      const n = Math.round(abs / step.ms);
      const above = STEPS[i - 1];
      // Rounding up can reach the next unit (59.6 min): write it in that unit.
      if (above && n * step.ms >= above.ms) return humanDuration(n * step.ms);
      return `${n} ${step.name(n)}`;
    }
    const total = Math.round(abs / step.sub);
    const per = step.ms / step.sub;
    const whole = Math.floor(total / per);
    const rest = total % per;
    const sub = STEPS[i + 1]?.name(rest) ?? 's';
    return rest === 0 ? `${whole} ${step.name(whole)}` : `${whole} ${step.name(whole)} ${rest} ${sub}`;
  }
  return `${Math.round(abs / MINUTE)} min`; // not reached: every span from a minute on matches a step
}

/**
 * How long ago something happened, from its age in milliseconds: "just now", "12 s ago",
 * "3 h 12 min ago", "278 days ago". A negative age (a clock ahead of this one) reads "in …".
 */
export function humanAge(ageMs: number): string {
  if (!Number.isFinite(ageMs)) return 'at an unknown time';
  if (Math.abs(ageMs) < JUST_NOW_MS) return 'just now';
  // Whole seconds: an age has no use for tenths.
  const rounded = Math.round(ageMs / SECOND) * SECOND;
  return ageMs < 0 ? `in ${humanDuration(rounded)}` : `${humanDuration(rounded)} ago`;
}

/** The age of an ISO time (or epoch milliseconds) at `now`, as humanAge writes it; null for no or an unreadable time. */
export function humanAgeOf(time: string | number | Date | null | undefined, now: number = Date.now()): string | null {
  if (time === null || time === undefined) return null;
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  return Number.isFinite(ms) ? humanAge(now - ms) : null;
}
