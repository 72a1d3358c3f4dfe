/** Zod building blocks whose messages say what is allowed (units, ranges, field names). */
import { z } from 'zod';
import { durationRangeProblem, formatSize, parseDuration, parsePercent, parseRate, parseSize, type DurationRange } from '../common/index.js';

/** An object that rejects unknown fields, naming the ones it accepts. */
export function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `unknown field; allowed: ${allowed}`;
      if (iss.code === 'invalid_type') return `expected a map with fields: ${allowed}`;
      return undefined;
    },
  });
}

function unit(parse: (v: string | number) => number) {
  return z.union([z.string(), z.number()], { error: 'expected a value with a unit' }).transform((v, ctx) => {
    try {
      return parse(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

/**
 * "50ms", "1.5s" → milliseconds, inside a range: by default 0 to 2^31−1 ms (the longest timer a
 * program can set). Intervals and timeouts pass `{ above: 0 }`.
 */
export const duration = (range: DurationRange = {}) =>
  unit(parseDuration).superRefine((ms, ctx) => {
    const problem = durationRangeProblem(ms, range);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
/** A period between two events of a program: at least 1 ms (the timers' resolution), at most 2^31−1 ms. */
export const INTERVAL_RANGE: DurationRange = { min: 1 };
export const interval = () => duration(INTERVAL_RANGE);
/** A timeout or a run time: more than 0, at most 2^31−1 ms. */
export const POSITIVE: DurationRange = { above: 0 };
export const timeout = () => duration(POSITIVE);
/** "1mbit" → bit/s. */
export const rate = () => unit(parseRate);
/** "5%" → percent. */
export const percent = () => unit(parsePercent);

export const port = () =>
  z.int({ error: 'expected a TCP port number (1–65535)' }).min(1, 'a port is 1–65535').max(65535, 'a port is 1–65535');

/** The most messages a program is asked to send (peer updates, mcast messages per peer). */
export const MAX_COUNT = 1_000_000;

/** A whole number in min–max (inclusive), the range named in the message. */
export const intRange = (min: number, max: number, extra = '') =>
  z
    .int({ error: `expected a whole number (${min}–${max}${extra})` })
    .min(min, `must be at least ${min} (${min}–${max}${extra})`)
    .max(max, `must be at most ${max} (${min}–${max}${extra})`);

export const count = (max = MAX_COUNT) => intRange(1, max);

/** A whole number in min–max, or "none" (null: no limit). */
export const intOrNone = (min: number, max: number) =>
  z.union([z.literal('none'), z.number()], { error: `expected a whole number (${min}–${max}) or "none"` }).transform((v, ctx): number | null => {
    if (v === 'none') return null;
    if (!Number.isInteger(v) || v < min || v > max) {
      ctx.addIssue({ code: 'custom', message: `${v} is outside ${min}–${max} (a whole number, or "none" for no limit)` });
      return z.NEVER;
    }
    return v;
  });

export const nodeRef = () => z.string({ error: 'expected a node name' });

/** A size in bytes ("512MiB", "1GiB") between `min` and `max`; with `orNone`, "none" is null (no limit). */
export function size(min: number, max: number, { orNone = false } = {}) {
  const range = `${formatSize(min)}–${formatSize(max)}${orNone ? ' (or "none" for no limit)' : ''}`;
  return z.union([z.string(), z.number()], { error: `expected a size, e.g. "512MiB" (${range})` }).transform((v, ctx): number | null => {
    if (orNone && v === 'none') return null;
    let bytes: number;
    try {
      bytes = parseSize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `${(err as Error).message}${orNone ? '; or "none" for no limit' : ''}` });
      return z.NEVER;
    }
    if (bytes < min || bytes > max) {
      ctx.addIssue({ code: 'custom', message: `${formatSize(bytes)} is outside ${range}` });
      return z.NEVER;
    }
    return bytes;
  });
}

export const envMap = () =>
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
    error: 'expected a map of NAME: value (strings, numbers or booleans)',
  });

// What a process environment can carry: a name without "=" (it would split the variable) or NUL.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why `name` cannot be an environment variable name, or undefined. */
export function envNameProblem(name: string): string | undefined {
  if (ENV_NAME.test(name)) return undefined;
  const shown = JSON.stringify(name);
  if (name === '') return 'an environment variable needs a name; "" is empty';
  if (name.includes('=')) return `${shown} is not a variable name: "=" separates a name from its value`;
  return `${shown} is not a variable name: use letters, digits and "_", not starting with a digit (e.g. DEBUG, TZ)`;
}

/** Why `value` cannot be an environment variable's value, or undefined. */
export function envValueProblem(value: string): string | undefined {
  return value.includes('\0') ? 'an environment value cannot contain a NUL character' : undefined;
}
