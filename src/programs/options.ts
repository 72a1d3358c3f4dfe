/**
 * Command-line helpers shared by the three programs. The programs run inside containers on Node 18
 * with no npm dependencies, so parsing uses node:util parseArgs and these small validators; every
 * error is a UsageError whose message names the option and the allowed form.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../common/errors.js';
import { durationRangeProblem, parseDuration, type DurationRange } from '../common/units.js';

export { UsageError };

/** Runs parseArgs, turning its TypeErrors ("Unknown option '--x'") into UsageErrors with the usage text. */
export function parseCommandLine<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError((err as Error).message, usage);
  }
}

/** Periods between a program's events: at least 1 ms (the timers' resolution), at most 2^31−1 ms. */
export const INTERVAL: DurationRange = { min: 1 };
/** Timeouts and run times: more than 0, at most 2^31−1 ms. */
export const POSITIVE: DurationRange = { above: 0 };
/** Waits that may be skipped: 0 to 2^31−1 ms. */
export const NON_NEGATIVE: DurationRange = { min: 0 };

/**
 * A duration option: "200ms", "1.5s", "2m", or a bare number of seconds (the seed's unit,
 * so `--interval 5` means what the slides mean), inside `range` — never above 2^31−1 ms, which
 * Node's timers would turn into 1 ms.
 */
export function durationOption(name: string, value: string, usage: string, range: DurationRange = POSITIVE): number {
  let ms: number;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    try {
      ms = parseDuration(value);
    } catch (err) {
      throw new UsageError(`--${name}: ${(err as Error).message}, or a bare number of seconds`, usage);
    }
  }
  const problem = durationRangeProblem(ms, range);
  if (problem) throw new UsageError(`--${name} ${problem}`, usage);
  return ms;
}

/** A non-negative integer option (`--count`). */
export function integerOption(name: string, value: string, usage: string, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${name} must be an integer (got "${value}")`, usage);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max} (got ${n})`, usage);
  return n;
}

/** A TCP port 0–65535 (0 = let the kernel choose, useful for tests). */
export function portNumber(what: string, value: string, usage: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${what}: port must be an integer (got "${value}")`, usage);
  const port = Number(value);
  if (port > 65535) throw new UsageError(`${what}: port must be 0–65535 (got ${port})`, usage);
  return port;
}

export interface HostPort {
  host: string;
  port: number;
}

/**
 * The seed's `[hostname]:port`: host defaults to 127.0.0.1, and the split is on the first ":" as in
 * the slides; a bracketed IPv6 literal `[::1]:port` is also accepted.
 */
export function parseHostPort(value: string, usage: string, what = `address "${value}"`): HostPort {
  let host: string;
  let port: string;
  const v6 = /^\[([^\]]+)\]:(.*)$/.exec(value);
  if (v6) {
    host = v6[1]!;
    port = v6[2]!;
  } else if (!value.includes(':')) {
    host = '127.0.0.1';
    port = value;
  } else {
    const i = value.indexOf(':');
    host = value.slice(0, i);
    port = value.slice(i + 1);
  }
  if (host === '') host = '127.0.0.1';
  if (!/^[A-Za-z0-9._:-]+$/.test(host)) {
    throw new UsageError(`${what}: "${host}" is not a host name or IP address`, usage);
  }
  if (!/^\d+$/.test(port)) throw new UsageError(`${what}: Ports must be integers.`, usage);
  return { host, port: portNumber(what, port, usage) };
}

export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return 'unknown';
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** The reason a socket closed, in words (Twisted printed `reason.value`; this is our equivalent). */
export function closeReason(error: NodeJS.ErrnoException | undefined, fallback = 'connection closed cleanly'): string {
  if (!error) return fallback;
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

/** The programs' common entry: run, print errors as `Error: …`, set the exit code. */
export async function runProgram(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`Error: ${err.message}\n`);
      if (err.usage) process.stderr.write(`${err.usage}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`Error: ${(err as Error)?.message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  }
}

/** Resolves on the first SIGINT/SIGTERM, and removes its handlers when disposed. */
export function onStopSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  const h = (signal: NodeJS.Signals) => handler(signal);
  process.once('SIGINT', h);
  process.once('SIGTERM', h);
  return () => {
    process.off('SIGINT', h);
    process.off('SIGTERM', h);
  };
}

/** Percentiles (nearest-rank) of a sample, in the sample's unit; nulls when empty. */
export function percentiles(values: number[]): { p50: number | null; p95: number | null; p99: number | null; max: number | null } {
  if (values.length === 0) return { p50: null, p95: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { p50: r(rank(50)), p95: r(rank(95)), p99: r(rank(99)), max: r(sorted[sorted.length - 1]!) };
}
