/** Zod building blocks whose messages say what is allowed (units, ranges, field names). */
import { z } from 'zod';
import { parseDuration, parsePercent, parseRate } from '../common/index.js';

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

/** "50ms", "1.5s" → milliseconds. */
export const duration = () => unit(parseDuration);
/** "1mbit" → bit/s. */
export const rate = () => unit(parseRate);
/** "5%" → percent. */
export const percent = () => unit(parsePercent);

export const port = () =>
  z.int({ error: 'expected a TCP port number (1–65535)' }).min(1, 'a port is 1–65535').max(65535, 'a port is 1–65535');

export const count = () => z.int({ error: 'expected a whole number' }).min(1, 'must be at least 1');

export const nodeRef = () => z.string({ error: 'expected a node name' });

export const envMap = () =>
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
    error: 'expected a map of NAME: value (strings, numbers or booleans)',
  });
