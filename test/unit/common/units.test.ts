import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, parseDuration, parsePercent, parseRate } from '../../../src/common/units.js';

describe('parseDuration', () => {
  it.each([
    ['50ms', 50],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['250us', 0.25],
    ['0', 0],
    [0, 0],
    [' 10 ms ', 10],
  ])('%j → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['50', '-5ms', 'fast', '5 sec', '', '1e3ms'])('rejects %j and names the allowed units', (input) => {
    expect(() => parseDuration(input)).toThrow(/units: us, ms, s, m, h/);
  });

  it('rejects a bare number other than 0', () => {
    expect(() => parseDuration(50)).toThrow(/has no unit/);
  });
});

describe('parseRate', () => {
  it.each([
    ['1mbit', 1e6],
    ['500kbit', 5e5],
    ['1mbps', 8e6],
    ['64bit', 64],
    ['1Gbit', 1e9],
  ])('%j → %d bit/s', (input, bits) => {
    expect(parseRate(input)).toBe(bits);
  });

  it.each(['1mb', 'fast', '10', '0mbit'])('rejects %j', (input) => {
    expect(() => parseRate(input)).toThrow(/rate/);
  });
});

describe('parsePercent', () => {
  it.each([
    ['5%', 5],
    ['0.5%', 0.5],
    ['100%', 100],
    ['0', 0],
  ])('%j → %d', (input, value) => {
    expect(parsePercent(input)).toBe(value);
  });

  it.each([['101%'], ['-1%']])('rejects %j as outside 0–100 %%', (input) => {
    expect(() => parsePercent(input)).toThrow(/outside 0–100 %/);
  });

  it.each([['5'], ['five%'], [5]])('rejects %j without a percent sign', (input) => {
    expect(() => parsePercent(input)).toThrow(/%/);
  });
});

describe('formatters', () => {
  it.each([
    [50, '50ms'],
    [1500, '1.5s'],
    [120_000, '2m'],
    [0.25, '250us'],
    [0, '0ms'],
  ])('formatDuration(%d) = %s and parses back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    [1e6, '1mbit'],
    [5e5, '500kbit'],
    [64, '64bit'],
  ])('formatRate(%d) = %s and parses back', (bits, text) => {
    expect(formatRate(bits)).toBe(text);
    expect(parseRate(text)).toBe(bits);
  });
});
