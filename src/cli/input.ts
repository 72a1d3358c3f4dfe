/**
 * What every verb shares for its input and output: usage errors for input that breaks a rule
 * (exit 2), and one JSON document on stdout for `--json`.
 */
import { UnitError, UsageError } from '../common/index.js';
import { ConditionError } from '../conditions/index.js';

/**
 * Runs a parse of command-line input; a rule it breaks (a unit, a range, a malformed partition)
 * becomes a UsageError (exit 2), checked before anything touches the engine.
 */
export function parseInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ConditionError || err instanceof UnitError) throw Object.assign(new UsageError(err.message), { cause: err });
    throw err;
  }
}

/** The one JSON document a `--json` verb prints on stdout (progress and tables go to stderr or nowhere). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Parses a whole number ≥ min given to a flag. */
export function wholeNumber(flag: string, min = 0) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`${flag} must be a whole number ≥ ${min} (got "${v}")`);
    return Number(v);
  };
}
