/**
 * Units used in topology, experiment and CLI input: durations ("50ms", "1.5s"), rates
 * ("1mbit", "500kbit", "10mbps") and percentages ("5%", "0.5%"). Each parser returns a
 * number in one canonical unit or throws a UnitError that says what is allowed.
 */

export class UnitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitError';
  }
}

const DURATION_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The longest timer a program can set: Node's setTimeout turns anything above 2^31−1 ms (about
 * 24.8 days) into 1 ms, so a longer interval would fire at once, every millisecond.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A documented range for a duration (ms): `min` inclusive unless `above` (strictly greater). */
export interface DurationRange {
  min?: number;
  above?: number;
  max?: number;
}

/** Why `ms` is outside `range` (max default MAX_TIMER_MS), or undefined when it is inside. */
export function durationRangeProblem(ms: number, range: DurationRange = {}): string | undefined {
  const max = range.max ?? MAX_TIMER_MS;
  if (range.above !== undefined && !(ms > range.above)) {
    return range.above === 0 ? `must be greater than 0 (got ${formatDuration(ms)})` : `must be greater than ${formatDuration(range.above)} (got ${formatDuration(ms)})`;
  }
  if (range.min !== undefined && ms < range.min) return `must be at least ${formatDuration(range.min)} (got ${formatDuration(ms)})`;
  if (ms > max) {
    const limit = max === MAX_TIMER_MS ? `${MAX_TIMER_MS}ms, about 24.8 days: the longest timer a program can set` : formatDuration(max);
    return `${formatDuration(ms)} is too long: at most ${limit}`;
  }
  return undefined;
}

/** Describes a range for help texts and messages ("1ms–24h"). */
export function describeDurationRange(range: DurationRange = {}): string {
  const max = range.max ?? MAX_TIMER_MS;
  const hi = max === MAX_TIMER_MS ? '2^31−1 ms' : formatDuration(max);
  if (range.above !== undefined) return `> ${formatDuration(range.above)} and ≤ ${hi}`;
  return `${formatDuration(range.min ?? 0)}–${hi}`;
}

/** Duration → milliseconds. Accepts "50ms", "1.5s", "2m", "250us"; a bare 0 is 0 ms. */
export function parseDuration(input: string | number): number {
  if (input === 0 || input === '0') return 0;
  if (typeof input === 'number') {
    throw new UnitError(`duration ${input} has no unit; write it like "50ms", "1.5s" or "2m" (units: us, ms, s, m, h)`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)\s*$/.exec(input);
  if (!m) {
    throw new UnitError(`"${input}" is not a duration; write it like "50ms", "1.5s" or "2m" (units: us, ms, s, m, h)`);
  }
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

// tc(8) units: bit, kbit, mbit, gbit are bits per second; bps, kbps, mbps, gbps are *bytes* per second.
const RATE_UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** Rate → bits per second, with tc's units ("1mbit" = 10^6 bit/s, "1mbps" = 8·10^6 bit/s). */
export function parseRate(input: string | number): number {
  const allowed = `units: ${Object.keys(RATE_UNITS).join(', ')} (tc(8): "mbit" is megabits, "mbps" megabytes per second)`;
  if (typeof input === 'number') {
    throw new UnitError(`rate ${input} has no unit; write it like "1mbit" or "500kbit" (${allowed})`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(input);
  const unit = m?.[2]?.toLowerCase();
  if (!m || unit === undefined || !(unit in RATE_UNITS)) {
    throw new UnitError(`"${input}" is not a rate; write it like "1mbit" or "500kbit" (${allowed})`);
  }
  const bits = Number(m[1]) * RATE_UNITS[unit]!;
  if (bits <= 0) throw new UnitError(`rate "${input}" must be greater than zero`);
  return bits;
}

/** Percentage → a number in [0, 100]. Accepts "5%", "0.5%"; a bare 0 is 0 %. */
export function parsePercent(input: string | number): number {
  if (input === 0 || input === '0') return 0;
  if (typeof input === 'number') {
    throw new UnitError(`percentage ${input} has no "%"; write it like "5%" (0–100 %)`);
  }
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*%\s*$/.exec(input);
  if (!m) throw new UnitError(`"${input}" is not a percentage; write it like "5%" or "0.5%" (0–100 %)`);
  const value = Number(m[1]);
  if (value < 0 || value > 100) throw new UnitError(`percentage "${input}" is outside 0–100 %`);
  return value;
}

/** Milliseconds → the shortest exact human form ("50ms", "1.5s", "250us"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  if (ms < 1) return `${round(ms * 1000)}us`;
  if (ms < 1000 || ms % 100 !== 0) return `${round(ms)}ms`;
  if (ms < 60_000 || ms % 60_000 !== 0) return `${round(ms / 1000)}s`;
  if (ms < 3_600_000 || ms % 3_600_000 !== 0) return `${round(ms / 60_000)}m`;
  return `${round(ms / 3_600_000)}h`;
}

/** Bits per second → tc's notation ("1mbit", "500kbit", "64bit"). */
export function formatRate(bitsPerSecond: number): string {
  for (const [unit, factor] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) {
    if (bitsPerSecond >= factor && Number.isInteger(round(bitsPerSecond / factor) * 1000)) {
      return `${round(bitsPerSecond / factor)}${unit}`;
    }
  }
  return `${round(bitsPerSecond)}bit`;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// Docker's units (RAMInBytes): k, m, g are binary multiples, and so are KB/MB/GB and KiB/MiB/GiB.
const SIZE_UNITS: Record<string, number> = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** Size → bytes. Accepts "512MiB", "1GiB", "64m", "4096" (bytes). */
export function parseSize(input: string | number): number {
  const allowed = 'write it like "512MiB", "1GiB" or "64m" (units: B, KiB, MiB, GiB; k/m/g and KB/MB/GB mean the same, as in Docker)';
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input >= 0) return input;
    throw new UnitError(`size ${input} is not a whole number of bytes; ${allowed}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  const unit = (m?.[2] ?? '').toLowerCase() || 'b';
  if (!m || !(unit in SIZE_UNITS)) throw new UnitError(`"${input}" is not a size; ${allowed}`);
  return Math.round(Number(m[1]) * SIZE_UNITS[unit]!);
}

/** Bytes → the shortest exact binary form ("512MiB", "1.5GiB", "100B"). */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= factor && Number.isInteger(round(bytes / factor) * 1000)) return `${round(bytes / factor)}${unit}`;
  }
  return `${bytes}B`;
}
