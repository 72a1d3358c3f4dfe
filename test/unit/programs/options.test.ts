import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/common/errors.js';
import { parsePeers } from '../../../src/programs/mcast/main.js';
import { toRanges } from '../../../src/programs/mcast/peer.js';
import { durationOption, INTERVAL, NON_NEGATIVE, parseHostPort, percentiles } from '../../../src/programs/options.js';

describe('parseHostPort (the seed\'s [hostname]:port)', () => {
  it.each([
    ['8888', { host: '127.0.0.1', port: 8888 }],
    ['10.0.0.2:8888', { host: '10.0.0.2', port: 8888 }],
    ['node-b:9000', { host: 'node-b', port: 9000 }],
    [':7', { host: '127.0.0.1', port: 7 }],
    ['[::1]:8888', { host: '::1', port: 8888 }],
  ])('%s', (input, expected) => {
    expect(parseHostPort(input, 'usage')).toEqual(expected);
  });

  it.each([
    ['host:abc', /Ports must be integers/],
    ['abc', /Ports must be integers/],
    ['h:70000', /port must be 0–65535/],
    ['bad host:80', /is not a host name or IP address/],
  ])('rejects %s as a usage error', (input, message) => {
    expect(() => parseHostPort(input, 'usage')).toThrow(UsageError);
    expect(() => parseHostPort(input, 'usage')).toThrow(message);
  });
});

describe('durationOption', () => {
  it.each([
    ['5', 5000],
    ['0.2', 200],
    ['200ms', 200],
    ['1.5s', 1500],
  ])('%s → %d ms', (input, ms) => {
    expect(durationOption('interval', input, 'u')).toBe(ms);
  });

  it('rejects zero unless allowed, and junk', () => {
    expect(() => durationOption('duration', '0', 'u')).toThrow('--duration must be greater than 0 (got 0ms)');
    expect(() => durationOption('interval', '0', 'u', INTERVAL)).toThrow('--interval must be at least 1ms (got 0ms)');
    expect(() => durationOption('interval', '250us', 'u', INTERVAL)).toThrow('--interval must be at least 1ms (got 250us)');
    expect(durationOption('linger', '0', 'u', NON_NEGATIVE)).toBe(0);
    expect(() => durationOption('interval', 'soon', 'u')).toThrow(/--interval: .*bare number of seconds/);
  });
});

describe('parsePeers', () => {
  it('parses id@host:port lists', () => {
    expect([...parsePeers('2@127.0.0.1:9002, 3@node-c:9003', 1)]).toEqual([
      [2, { host: '127.0.0.1', port: 9002 }],
      [3, { host: 'node-c', port: 9003 }],
    ]);
  });

  it.each([
    ['2-127.0.0.1:9002', /must look like id@host:port/],
    ['1@127.0.0.1:9001', /has our own id 1/],
    ['2@h:1,2@h:2', /id 2 is listed twice/],
    ['2@h:x', /Ports must be integers/],
  ])('rejects %s', (input, message) => {
    expect(() => parsePeers(input, 1)).toThrow(message);
  });
});

describe('small helpers', () => {
  it('toRanges compresses sorted seqs', () => {
    expect(toRanges([1, 2, 3, 5, 7, 8])).toBe('1-3,5,7-8');
    expect(toRanges([])).toBe('');
  });

  it('percentiles use nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ p50: null, p95: null, p99: null, max: null });
  });
});
