import { describe, expect, test } from 'vitest';
import { median, medianOrNull, percentile, spread } from '../src/stats.js';

describe('median', () => {
  test('an odd count gives the middle value, whatever the input order', () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  test('an even count gives the mean of the two middle values', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test('one value is its own median; none is NaN', () => {
    expect(median([7])).toBe(7);
    expect(median([])).toBeNaN();
  });

  test('does not reorder the caller’s array', () => {
    const runs = [3, 1, 2];
    median(runs);
    expect(runs).toEqual([3, 1, 2]);
  });
});

describe('percentile (nearest rank, as HdrHistogram)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose

  test('p50, p99 and p99.9 of 1..100', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 99.9)).toBe(100);
  });

  test('p0 is the minimum and p100 the maximum', () => {
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile(hundred, 100)).toBe(100);
  });

  test('a percentile between ranks rounds up to a value that was observed', () => {
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 51)).toBe(30);
  });

  test('rejects a percentile outside [0, 100]', () => {
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('spread and medianOrNull', () => {
  test('spread gives median, min and max of the runs', () => {
    expect(spread([30, 10, 20])).toEqual({ median: 20, min: 10, max: 30 });
  });

  test('medianOrNull ignores runs without the figure, and is null when none has it', () => {
    expect(medianOrNull([null, 4, 2])).toBe(3);
    expect(medianOrNull([null, null])).toBeNull();
  });
});
