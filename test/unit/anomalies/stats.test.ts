import { describe, expect, it } from 'vitest';
import { binomialTail, changePoint, durationScore, poissonTail, severityOf } from '../../../src/core/anomalies/stats.js';

describe('anomaly statistics', () => {
  it('binomial and Poisson tails match known values', () => {
    expect(binomialTail(3, 3, 0.5)).toBeCloseTo(0.125, 10);
    expect(binomialTail(2, 4, 0.5)).toBe(1); // at or under the mean: not surprising
    expect(binomialTail(9, 10, 0.5)).toBeCloseTo(11 / 1024, 10);
    expect(poissonTail(3, 1)).toBeCloseTo(1 - Math.exp(-1) * (1 + 1 + 0.5), 10);
    expect(poissonTail(30, 2)).toBeLessThan(1e-20);
  });

  it('finds the change point of a series beyond the latest start allowed', () => {
    const x = [...Array(60).fill(0), ...Array(40).fill(3)];
    const e = Array(100).fill(0.2);
    expect(changePoint(x, e, 90, 10)).toBe(60);
  });

  it('rates an incident more severe the longer it lasts', () => {
    expect(durationScore(0)).toBe(0);
    expect(durationScore(4 * 3_600_000)).toBe(1.5);
    expect(severityOf(1.25 + durationScore(4 * 3_600_000))).toBe('high');
    expect(severityOf(1.25)).toBe('low');
  });
});
