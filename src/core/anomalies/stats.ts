/**
 * The statistics the rules share: upper tail probabilities (is this many failures, errors or
 * slow calls surprising?), the change point of a series (when did it begin?), and how severe
 * an incident is from its impact and its duration.
 */

const LANCZOS = [676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406, 12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.9999999999998099;
  const t = z + 7.5;
  for (let i = 0; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
export function binomialTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  if (k <= n * p) return 1;
  const logC = (j: number) => logGamma(n + 1) - logGamma(j + 1) - logGamma(n - j + 1);
  let sum = 0;
  for (let j = k; j <= n; j++) {
    const term = Math.exp(logC(j) + j * Math.log(p) + (n - j) * Math.log1p(-p));
    sum += term;
    // Past the mean the terms only shrink.
    if (term < sum * 1e-12) break;
  }
  return Math.min(1, sum);
}

/** P(X ≥ k) for X ~ Poisson(lambda). */
export function poissonTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  if (k <= lambda) return 1;
  let sum = 0;
  for (let j = k; j < k + 10_000; j++) {
    const term = Math.exp(j * Math.log(lambda) - lambda - logGamma(j + 1));
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return Math.min(1, sum);
}

/**
 * The change point of a per-minute series: the start s (at most `latestStart`) that
 * maximises the log-likelihood ratio of "from s on, x runs at `ratio` times its expectation e"
 * against "x follows e" — a CUSUM read backwards. Returns the index of the first minute at or
 * after s where x exceeds e, so the onset is a minute in which something happened.
 */
export function changePoint(x: ArrayLike<number>, e: ArrayLike<number>, latestStart: number, ratio: number): number {
  const r = Math.max(ratio, 1.2);
  const lr = Math.log(r);
  let best = latestStart;
  let bestScore = -Infinity;
  let suffix = 0;
  for (let i = x.length - 1; i >= 0; i--) {
    suffix += x[i]! * lr - (r - 1) * e[i]!;
    if (i <= latestStart && suffix > bestScore) {
      bestScore = suffix;
      best = i;
    }
  }
  for (let i = best; i < x.length; i++) if (x[i]! > e[i]!) return i;
  return best;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export const SEVERITY_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };

export function severityOf(score: number): Severity {
  return score >= 3 ? 'critical' : score >= 2 ? 'high' : score >= 1.3 ? 'medium' : 'low';
}

/** What lasting adds to an incident's score: nothing at first, 0.8 after an hour, 1.5 after four. */
export function durationScore(durationMs: number): number {
  const minutes = Math.max(0, durationMs / 60_000);
  return Math.min(1.5, 0.5 * Math.log2(1 + minutes / 30));
}

/** P(Z ≥ z) for a standard normal Z (Abramowitz–Stegun 7.1.26). */
export function normalTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}
