import { ConditionError } from '../../src/conditions/index.js';

/** The problems a ConditionError lists (empty when `fn` does not throw); any other error is rethrown. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConditionError) return err.problems;
    throw err;
  }
  return [];
}
