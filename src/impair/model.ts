/**
 * The condition model: what can be injected into a lab's network, in canonical units, and the
 * validation that runs before any namespace is touched.
 *
 * - An `Impairment` applies to a node's egress, either to one peer (a directed link, A→B differs
 *   from B→A) or to all of its egress (`to: '*'`; a per-peer condition wins over it).
 * - A `Cut` blocks one direction between two nodes; a partition `n1,n2 | n3` is the set of cuts
 *   between every pair of groups, a one-way cut `n1 -/-> n2` is a single cut.
 */
import { UnitError, parseDuration, parsePercent, parseRate } from '../common/index.js';

export const DISTRIBUTIONS = ['uniform', 'normal', 'pareto', 'paretonormal'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

export const BACKENDS = ['netem', 'userspace'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Everything in canonical units: ms, %, bit/s. Zero means "not impaired" for that aspect. */
export interface Impairment {
  delayMs: number;
  jitterMs: number;
  /** netem's delay correlation (%); only the netem backend honours it. */
  delayCorrelationPct: number;
  distribution: Distribution;
  lossPct: number;
  lossCorrelationPct: number;
  duplicatePct: number;
  reorderPct: number;
  corruptPct: number;
  /** Bits per second; undefined = unlimited. */
  rateBps?: number;
}

/** Raw input as it comes from the CLI or a topology file (strings with units). */
export interface ImpairmentInput {
  delay?: string | number;
  jitter?: string | number;
  delayCorrelation?: string | number;
  distribution?: string;
  loss?: string | number;
  lossCorrelation?: string | number;
  duplicate?: string | number;
  reorder?: string | number;
  corrupt?: string | number;
  rate?: string | number;
}

export const ALL_PEERS = '*';

export interface EgressCondition {
  /** The node whose egress is impaired. */
  node: string;
  /** The destination peer, or '*' for all of the node's egress. */
  to: string;
  impairment: Impairment;
}

export type CutStyle = 'drop' | 'reset';

/** One blocked direction: packets from `from` to `to` are dropped (or refused with a TCP reset). */
export interface Cut {
  from: string;
  to: string;
  style: CutStyle;
}

/** What the impairment code needs to know about a node: its name and every IPv4 address it has. */
export interface NodeAddressing {
  name: string;
  addresses: string[];
}

/** A list of rule violations, reported all at once so the user fixes them in one go. */
export class ConditionError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid conditions:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConditionError';
  }
}

export const NO_IMPAIRMENT: Impairment = Object.freeze({
  delayMs: 0,
  jitterMs: 0,
  delayCorrelationPct: 0,
  distribution: 'normal',
  lossPct: 0,
  lossCorrelationPct: 0,
  duplicatePct: 0,
  reorderPct: 0,
  corruptPct: 0,
}) as Impairment;

/**
 * Raw input → Impairment, collecting every problem. `where` prefixes each message
 * (e.g. `links[2] n1->n2` or `--to n2`) so the user can find the field.
 */
export function parseImpairment(input: ImpairmentInput, where = ''): Impairment {
  const problems: string[] = [];
  const at = (field: string) => (where ? `${where}: ${field}` : field);
  const field = <T>(name: string, raw: string | number | undefined, parse: (v: string | number) => T, dflt: T): T => {
    if (raw === undefined || raw === '') return dflt;
    try {
      return parse(raw);
    } catch (err) {
      problems.push(`${at(name)}: ${err instanceof UnitError ? err.message : String(err)}`);
      return dflt;
    }
  };
  const duration = (v: string | number) => {
    if (typeof v === 'string' && /^\s*-/.test(v)) throw new UnitError(`"${v}" is negative; durations are ≥ 0`);
    return parseDuration(v);
  };
  const imp: Impairment = {
    delayMs: field('delay', input.delay, duration, 0),
    jitterMs: field('jitter', input.jitter, duration, 0),
    delayCorrelationPct: field('delay-correlation', input.delayCorrelation, parsePercent, 0),
    distribution: 'normal',
    lossPct: field('loss', input.loss, parsePercent, 0),
    lossCorrelationPct: field('loss-correlation', input.lossCorrelation, parsePercent, 0),
    duplicatePct: field('duplicate', input.duplicate, parsePercent, 0),
    reorderPct: field('reorder', input.reorder, parsePercent, 0),
    corruptPct: field('corrupt', input.corrupt, parsePercent, 0),
  };
  const rate = field('rate', input.rate, parseRate, undefined as number | undefined);
  if (rate !== undefined) imp.rateBps = rate;
  if (input.distribution !== undefined) {
    if ((DISTRIBUTIONS as readonly string[]).includes(input.distribution)) {
      imp.distribution = input.distribution as Distribution;
    } else {
      problems.push(`${at('distribution')}: "${input.distribution}" is not one of ${DISTRIBUTIONS.join(', ')}`);
    }
  }
  problems.push(...impairmentRuleViolations(imp, input).map((p) => at(p)));
  if (problems.length > 0) throw new ConditionError(problems);
  return imp;
}

/** Validates an impairment already in canonical units (e.g. a resolved topology link). */
export function checkImpairment(imp: Impairment, where = ''): Impairment {
  const problems: string[] = [];
  const at = (p: string) => (where ? `${where}: ${p}` : p);
  for (const [name, v] of [['delay', imp.delayMs], ['jitter', imp.jitterMs]] as const) {
    if (!Number.isFinite(v) || v < 0) problems.push(at(`${name} must be a duration ≥ 0 (got ${v})`));
  }
  for (const [name, v] of [['loss', imp.lossPct], ['loss-correlation', imp.lossCorrelationPct], ['duplicate', imp.duplicatePct], ['reorder', imp.reorderPct], ['corrupt', imp.corruptPct], ['delay-correlation', imp.delayCorrelationPct]] as const) {
    if (!Number.isFinite(v) || v < 0 || v > 100) problems.push(at(`${name} is 0–100 % (got ${v})`));
  }
  if (imp.rateBps !== undefined && !(imp.rateBps > 0)) problems.push(at(`rate must be greater than zero (got ${imp.rateBps})`));
  problems.push(...impairmentRuleViolations(imp, {}).map(at));
  if (problems.length > 0) throw new ConditionError(problems);
  return imp;
}

/** The cross-field rules (pumba's NewDelayCommand style: each message names its rule). */
function impairmentRuleViolations(imp: Impairment, input: ImpairmentInput): string[] {
  const out: string[] = [];
  // Neither netem nor the helper can send a packet before it was sent: jitter beyond delay would be clipped at 0.
  if (imp.jitterMs > imp.delayMs) out.push(`jitter must be ≤ delay (jitter ${imp.jitterMs}ms > delay ${imp.delayMs}ms)`);
  if (input.distribution !== undefined && imp.jitterMs === 0) out.push('distribution needs a jitter (it shapes the jitter)');
  if (imp.delayCorrelationPct > 0 && imp.jitterMs === 0) out.push('delay-correlation needs a jitter');
  if (imp.lossCorrelationPct > 0 && imp.lossPct === 0) out.push('loss-correlation needs a loss');
  // netem(8): reordered packets are the ones sent at once while the others wait out the delay.
  if (imp.reorderPct > 0 && imp.delayMs === 0) out.push('reorder needs a delay (reordered packets are the ones sent without it)');
  if (isNoop(imp)) out.push('nothing to impair: give at least one of delay, loss, duplicate, reorder, corrupt or rate');
  return out;
}

export function isNoop(imp: Impairment): boolean {
  return (
    imp.delayMs === 0 &&
    imp.lossPct === 0 &&
    imp.duplicatePct === 0 &&
    imp.reorderPct === 0 &&
    imp.corruptPct === 0 &&
    imp.rateBps === undefined
  );
}

/** True when the impairment needs a per-packet stage (netem leaf, or the userspace helper). */
export function needsPacketStage(imp: Impairment): boolean {
  return imp.delayMs > 0 || imp.lossPct > 0 || imp.duplicatePct > 0 || imp.reorderPct > 0 || imp.corruptPct > 0;
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

/** `n1,n2 | n3` style groups → every cut between nodes of different groups, both directions. */
export function partitionCuts(groups: string[][], style: CutStyle = 'drop'): Cut[] {
  const cuts: Cut[] = [];
  groups.forEach((g, i) =>
    groups.forEach((h, j) => {
      if (i === j) return;
      for (const from of g) for (const to of h) cuts.push({ from, to, style });
    }),
  );
  return cuts;
}

/** Parses `n1,n2 | n3` (or the CLI's separate arguments "n1,n2" "n3") into groups. */
export function parseGroups(args: string[]): string[][] {
  return args
    .join(' ')
    .split('|')
    .flatMap((part) => part.trim().split(/\s+/))
    .filter((s) => s.length > 0)
    .map((g) => g.split(',').map((n) => n.trim()));
}

/** Validates partition groups against the lab: ≥ 2 groups, no empty name, no node named twice, all known. */
export function validateGroups(groups: string[][], nodes: readonly string[]): void {
  const problems: string[] = [];
  if (groups.length < 2) problems.push(`a partition needs at least two groups (got ${groups.length}); write it like "n1,n2 n3"`);
  const seen = new Map<string, number>();
  groups.forEach((g, i) => {
    for (const n of g) {
      if (n === '') {
        problems.push(`group ${i + 1} has an empty node name`);
        continue;
      }
      if (seen.has(n)) problems.push(`node "${n}" is named twice in the partition (groups ${seen.get(n)! + 1} and ${i + 1})`);
      else seen.set(n, i);
      if (!nodes.includes(n)) problems.push(unknownNode(n, nodes));
    }
  });
  if (problems.length > 0) throw new ConditionError(problems);
}

export function validateCut(from: string, to: string, nodes: readonly string[]): void {
  const problems: string[] = [];
  for (const n of [from, to]) if (!nodes.includes(n)) problems.push(unknownNode(n, nodes));
  if (from === to) problems.push(`a one-way cut needs two different nodes (got "${from}" twice)`);
  if (problems.length > 0) throw new ConditionError(problems);
}

/** Validates an egress condition's node and peer against the lab and the backend. */
export function validateEgress(cond: EgressCondition, nodes: readonly string[], backend?: Backend): void {
  const problems: string[] = [];
  if (!nodes.includes(cond.node)) problems.push(unknownNode(cond.node, nodes));
  if (cond.to !== ALL_PEERS) {
    if (!nodes.includes(cond.to)) problems.push(`unknown peer "${cond.to}"; the lab's nodes are: ${nodes.join(', ')}`);
    else if (cond.to === cond.node) problems.push(`node "${cond.node}" cannot be impaired towards itself`);
  }
  if (backend) problems.push(...backendViolations(cond.impairment, backend));
  if (problems.length > 0) throw new ConditionError(problems);
}

function unknownNode(n: string, nodes: readonly string[]): string {
  return `unknown node "${n}"; the lab's nodes are: ${nodes.join(', ')}`;
}
