// How early could any test see the two incidents of bench/anomalies.mjs that the watcher is
// slow to notify, at the false-alarm rate the rules are held to? A bound, not a measurement of
// selfscope: the tests here know the tool's baseline exactly (no estimate from a noisy week),
// and their thresholds are set on simulated stationary traffic of that tool alone, so that it
// raises BUDGET false episodes a day (an episode: alarms not 30 min apart), evaluated every 30 s.
// - The slow ramp (web_search 1x -> 3x over 3 h; latency uniform 150..650 ms times the ramp):
//   the z of the mean probability-integral transform over trailing 15/30/60 min, and a
//   one-sided CUSUM of it; the delay from the ramp's start to the first alarm.
// - The off-peak burst (memory_lookup failing 40% for 15 min against 2%): the binomial tail
//   of the failures over trailing 5..60 min; the share of bursts seen within their 15 min.
// Calls arrive as in bench/traffic.mjs (Poisson at the incident's hour, 15,000 events a day).
//   node bench/detection-bounds.mjs [--trials 2000] [--days 300] [--seed 7]
import { rate } from './traffic.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TRIALS = arg('trials', 2000);
const DAYS = arg('days', 300);
let seed = arg('seed', 7) >>> 0;
const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const BUDGETS = [0.3, 0.05]; // the bound for all rules together, and one subject's share of it
// A tool's calls per minute at a weekday hour: 30% of events are tool calls, over 6 tools.
const toolRate = (hour) => (rate(Date.UTC(2026, 10, 9, hour), 15_000) * 0.3) / 6;

/** Calls over [0, minutes) at `perMin`, each with the value `value(t)` draws. */
function calls(minutes, perMin, value) {
  const out = [];
  for (let t = -Math.log(1 - rnd()) / perMin; t < minutes; t += -Math.log(1 - rnd()) / perMin) out.push({ t, v: value(t) });
  return out;
}
/** A statistic at every 30 s of [start, end), from the calls up to then. */
function series(cs, start, end, statistic) {
  const out = [];
  let j = 0;
  const state = {};
  for (let t = start; t < end; t += 0.5) {
    const from = j;
    while (j < cs.length && cs[j].t <= t) j++;
    out.push(statistic(cs, j, t, from, state));
  }
  return out;
}
function episodes(xs, c) {
  let n = 0;
  let quiet = Infinity;
  for (const x of xs) {
    if (x > c) {
      if (quiet >= 60) n++;
      quiet = 0;
    } else quiet++;
  }
  return n;
}
/** The lowest threshold that keeps the stationary series at `budget` false episodes a day. */
function threshold(xs, budget) {
  let lo = 0;
  let hi = 100;
  for (let k = 0; k < 40; k++) {
    const mid = (lo + hi) / 2;
    if (episodes(xs, mid) / DAYS > budget) lo = mid;
    else hi = mid;
  }
  return hi;
}
const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * xs.length)];
const pct = (x) => `${(100 * x).toFixed(1)}%`;

// --- the slow ramp
{
  const perMin = toolRate(10);
  const F0 = (x) => Math.min(1, Math.max(0, (x - 150) / 500));
  const latency = (mult) => F0((150 + rnd() * 500) * mult);
  const K = 0.1;
  const windowZ = (cs, j, t) => {
    let best = -Infinity;
    for (const w of [15, 30, 60]) {
      let s = 0;
      let n = 0;
      for (let i = j - 1; i >= 0 && cs[i].t > t - w; i--, n++) s += cs[i].v - 0.5;
      if (n >= 3) best = Math.max(best, s / Math.sqrt(n / 12));
    }
    return best;
  };
  const cusum = (cs, j, _t, from, state) => {
    for (let i = from; i < j; i++) state.c = Math.max(0, (state.c ?? 0) + cs[i].v - 0.5 - K);
    return state.c ?? 0;
  };
  const h0 = calls(DAYS * 1440, perMin, () => latency(1));
  const tests = [['mean over 15/30/60 min', windowZ], [`CUSUM (k ${K})`, cusum]].map(([name, f]) => ({ name, f, s0: series(h0, 60, DAYS * 1440, f) }));
  console.log(`web_search ramp 1x -> 3x over 3 h, ${(perMin * 60).toFixed(1)} calls/h (10:00 UTC, a weekday): delay from the ramp's start to the first alarm`);
  for (const budget of BUDGETS) {
    for (const test of tests) {
      const c = threshold(test.s0, budget);
      const delays = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        // Two hours of baseline, then the ramp: an alarm before it is not counted.
        const cs = calls(300, perMin, (t) => latency(t < 120 ? 1 : 1 + Math.min(2, (2 * (t - 120)) / 180)));
        const xs = series(cs, 120, 300, test.f);
        const i = xs.findIndex((x) => x > c);
        delays.push(i < 0 ? Infinity : i * 0.5);
      }
      const within = delays.filter((d) => d <= 15).length / delays.length;
      console.log(`  ${budget} false episodes/day, ${test.name} > ${c.toFixed(2)}: median ${q(delays, 0.5)} min (p10 ${q(delays, 0.1)}, p90 ${q(delays, 0.9)}); within 15 min ${pct(within)}`);
    }
  }
}

// --- the off-peak burst
{
  const perMin = toolRate(7);
  const P0 = 0.02;
  const lnFact = [0];
  for (let i = 1; i < 2000; i++) lnFact.push(lnFact[i - 1] + Math.log(i));
  const memo = new Map();
  const tail = (n, k) => {
    const key = n * 4096 + k;
    let p = memo.get(key);
    if (p === undefined) {
      p = 0;
      for (let i = k; i <= n; i++) p += Math.exp(lnFact[n] - lnFact[i] - lnFact[n - i] + i * Math.log(P0) + (n - i) * Math.log(1 - P0));
      memo.set(key, p);
    }
    return p;
  };
  const binomial = (cs, j, t) => {
    let best = 0;
    for (const w of [5, 10, 15, 30, 60]) {
      let n = 0;
      let k = 0;
      for (let i = j - 1; i >= 0 && cs[i].t > t - w; i--, n++) k += cs[i].v;
      if (k >= 2) best = Math.max(best, -Math.log10(tail(n, k)));
    }
    return best;
  };
  const s0 = series(calls(DAYS * 1440, perMin, () => (rnd() < P0 ? 1 : 0)), 60, DAYS * 1440, binomial);
  console.log(`memory_lookup 40% failures for 15 min against ${P0 * 100}%, ${(perMin * 60).toFixed(1)} calls/h (07:00 UTC, a weekday): bursts seen within their 15 min`);
  for (const budget of BUDGETS) {
    const c = threshold(s0, budget);
    let seen = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const cs = calls(200, perMin, (t) => (rnd() < (t >= 120 && t < 135 ? 0.4 : P0) ? 1 : 0));
      if (series(cs, 120, 135.5, binomial).some((x) => x > c)) seen++;
    }
    console.log(`  ${budget} false episodes/day, binomial tail over 5..60 min, -log10 p > ${c.toFixed(2)}: ${pct(seen / TRIALS)}`);
  }
}
