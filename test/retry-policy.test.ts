import { describe, expect, it } from 'vitest';
import { exponentialBackoff, retryAt } from '@jobbase/server';

describe('retry policy', () => {
  it('doubles per retry between half and the whole of the ceiling', () => {
    const low = exponentialBackoff({ base: 1_000, max: 60_000 }, () => 0);
    const high = exponentialBackoff({ base: 1_000, max: 60_000 }, () => 1);
    expect([1, 2, 3, 4].map(low)).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map(high)).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('is capped at max however many retries', () => {
    const high = exponentialBackoff({ base: 1_000, max: 60_000 }, () => 1);
    expect(high(7)).toBe(60_000);
    expect(high(1_000)).toBe(60_000);
    expect(high(Number.MAX_SAFE_INTEGER)).toBe(60_000);
  });

  it('jitters within its bounds', () => {
    const backoff = exponentialBackoff({ base: 1_000, max: 60_000 });
    const delays = Array.from({ length: 200 }, () => backoff(3));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(2_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4_000);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });

  it('turns a delay into run_at, treating bad delays as now', () => {
    const now = Date.UTC(2025, 0, 8, 12);
    expect(retryAt(() => 1_500, 1, now).toISOString()).toBe('2025-01-08T12:00:01.500Z');
    expect(retryAt(() => -5, 1, now).getTime()).toBe(now);
    expect(retryAt(() => Number.NaN, 1, now).getTime()).toBe(now);
  });
});
