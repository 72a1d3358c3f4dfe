import { describe, expect, it } from 'vitest';
import { parseSince, toLogOptions } from '../../../src/lab/index.js';

const NOW = Date.parse('2025-05-01T12:00:00Z');

describe('parseSince', () => {
  it.each([
    ['30s', NOW - 30_000],
    ['5m', NOW - 300_000],
    ['1.5h', NOW - 5_400_000],
    ['2025-05-01T10:00:00Z', Date.parse('2025-05-01T10:00:00Z')],
    [new Date('2025-04-30T00:00:00Z'), Date.parse('2025-04-30T00:00:00Z')],
    [1234, 1234],
  ] as const)('%s → epoch ms', (input, expected) => {
    expect(parseSince(input, NOW)).toBe(expected);
  });

  it.each(['yesterday', '30', '-5s', '10:00'])('refuses %s, naming both forms', (input) => {
    expect(() => parseSince(input, NOW)).toThrow(/is neither a duration before now \("30s", "5m", "1h"\) nor a time/);
  });

  it('toLogOptions keeps only what was asked and refuses a negative tail', () => {
    expect(toLogOptions({}, NOW)).toEqual({});
    expect(toLogOptions({ tail: 0, since: '1s', timestamps: true, stream: 'stderr' }, NOW)).toEqual({ tail: 0, sinceMs: NOW - 1000, timestamps: true, stream: 'stderr' });
    expect(() => toLogOptions({ tail: -1 })).toThrow('tail must be a whole number ≥ 0 (got -1)');
  });
});
