/**
 * What the impairment layer adds to the condition language (src/conditions): the backends that
 * put conditions in force, what each cannot do, and a node as this layer sees it.
 */
import { ConditionError, checkEgress, type EgressCondition, type Impairment } from '../conditions/index.js';

export const BACKENDS = ['netem', 'userspace'] as const;
export type Backend = (typeof BACKENDS)[number];

/** What the impairment code needs to know about a node: its name and every IPv4 address it has. */
export interface NodeAddressing {
  name: string;
  addresses: string[];
}

/**
 * What each backend cannot do. An unsupported field is refused, never silently ignored.
 * The helper implements delay/jitter with every distribution, loss with correlation,
 * duplicate, reorder and corrupt; it has no model for correlated delay.
 */
export function backendViolations(imp: Impairment, backend: Backend): string[] {
  if (backend === 'userspace' && imp.delayCorrelationPct > 0) {
    return ['delay-correlation is supported by the netem backend only (this kernel uses the userspace backend)'];
  }
  return [];
}

/** Validates an egress condition's node and peer against the lab, and its fields against the backend. */
export function validateEgress(cond: EgressCondition, nodes: readonly string[], backend?: Backend): void {
  const problems: string[] = [];
  try {
    checkEgress(cond, nodes);
  } catch (err) {
    if (!(err instanceof ConditionError)) throw err;
    problems.push(...err.problems);
  }
  if (backend) problems.push(...backendViolations(cond.impairment, backend));
  if (problems.length > 0) throw new ConditionError(problems.map((message) => ({ message })));
}
