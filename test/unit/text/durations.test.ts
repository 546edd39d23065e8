import { describe, expect, it } from 'vitest';
import { humanAge, humanAgeOf, humanDuration } from '../../../src/core/text/durations.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const DAY = 24 * H;

describe('humanDuration', () => {
  it.each([
    [0, '0 ms'],
    [0.42, '0.4 ms'],
    [2.5, '2.5 ms'],
    [9.96, '10 ms'],
    [12.3, '12 ms'],
    [340, '340 ms'],
    [999.4, '999 ms'],
    [999.6, '1 s'],
    [1000, '1 s'],
    [1234, '1.2 s'],
    [4200, '4.2 s'],
    [9960, '10 s'],
    [42 * S, '42 s'],
    [59.4 * S, '59 s'],
    [59.6 * S, '1 min'],
    [60 * S, '1 min'],
    [3 * MIN + 12 * S, '3 min 12 s'],
    [9 * MIN + 59.6 * S, '10 min'],
    [10 * MIN, '10 min'],
    [42 * MIN + 17 * S, '42 min'],
    [59 * MIN + 50 * S, '1 h'],
    [H, '1 h'],
    [3 * H + 12 * MIN, '3 h 12 min'],
    [3 * H + 12 * MIN + 40 * S, '3 h 13 min'],
    [14 * H + 5 * MIN, '14 h'],
    [23 * H + 40 * MIN, '1 day'],
    [23 * H + 20 * MIN, '23 h'],
    [DAY, '1 day'],
    [DAY + H, '1 day 1 h'],
    [2 * DAY + 4 * H, '2 days 4 h'],
    [7 * DAY, '7 days'],
    [278 * DAY + 5 * H, '278 days'],
    [-(3 * H + 12 * MIN), '3 h 12 min'],
  ])('%s ms reads "%s"', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('never writes a raw count of seconds for a long span', () => {
    expect(humanDuration(24_039_751 * S)).toBe('278 days');
  });

  it('says so for a span it cannot measure', () => {
    expect(humanDuration(Number.NaN)).toBe('an unknown time');
  });
});

describe('humanAge', () => {
  it.each([
    [0, 'just now'],
    [4 * S, 'just now'],
    [9.9 * S, 'just now'],
    [12.4 * S, '12 s ago'],
    [3 * MIN + 12 * S, '3 min 12 s ago'],
    [3 * H + 12 * MIN, '3 h 12 min ago'],
    [24_039_751 * S, '278 days ago'],
    [-5 * S, 'just now'],
    [-(3 * MIN), 'in 3 min'],
  ])('an age of %s ms reads "%s"', (ms, text) => {
    expect(humanAge(ms)).toBe(text);
  });

  it('reads the age of an ISO time, a Date or epoch milliseconds at a given now', () => {
    const now = Date.parse('2026-03-13T14:00:00Z');
    expect(humanAgeOf('2026-03-13T10:48:00Z', now)).toBe('3 h 12 min ago');
    expect(humanAgeOf(new Date(now - 2 * DAY), now)).toBe('2 days ago');
    expect(humanAgeOf(now - 30 * S, now)).toBe('30 s ago');
    expect(humanAgeOf(null, now)).toBeNull();
    expect(humanAgeOf('not a time', now)).toBeNull();
  });
});
