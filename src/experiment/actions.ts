/**
 * Network actions an experiment performs: impair a link, partition, heal. They are the
 * steps of a fault timeline and the content of a condition (a condition is the actions applied
 * before the workload starts). The one-line syntax, used in timelines and `apply:` lists:
 *
 *   delay n1->n2 200ms [±50ms]     one direction (n1's packets to n2); `n1<->n2` both; `n1` or `*` all egress
 *   loss n1->n2 10%                also: rate n1->n2 1mbit, jitter …, duplicate …, corrupt …, reorder …
 *   impair n1->n2 delay=200ms jitter=50ms loss=10% rate=1mbit
 *   partition n1 | n2,n3                     groups that cannot reach each other (packets dropped)
 *   partition n1 -/-> n2                     one direction only
 *   heal [n1]                                remove every impairment and partition (of one node)
 */
import { UnitError, formatRate } from '../common/index.js';
import { ConditionError, parseImpairment, type Impairment, type ImpairmentInput } from '../impair/model.js';

/** `*` stands for every node of the lab. */
export const ALL_NODES = '*';

/** Which packets an action concerns: `from`'s egress, only towards `to` when set. */
export interface LinkSelector {
  from: string;
  to?: string;
}

export type PartitionSpec =
  | { kind: 'groups'; groups: string[][] }
  | { kind: 'one-way'; from: string; to: string };

export type NetworkAction =
  | { kind: 'impair'; link: LinkSelector; impairment: Impairment }
  | { kind: 'partition'; partition: PartitionSpec }
  | { kind: 'heal'; node?: string };

export const IMPAIRMENT_KEYS = ['delay', 'jitter', 'loss', 'rate', 'duplicate', 'corrupt', 'reorder'] as const;
export type ImpairmentKey = (typeof IMPAIRMENT_KEYS)[number];

export const ACTION_VERBS = ['impair', ...IMPAIRMENT_KEYS, 'partition', 'heal'] as const;

export class ActionSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ActionSyntaxError';
  }
}

const NODE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Raw impairment fields (strings with units) → D's validated Impairment, as an ActionSyntaxError. */
export function buildImpairment(input: ImpairmentInput): Impairment {
  try {
    return parseImpairment(input);
  } catch (err) {
    if (err instanceof ConditionError) throw new ActionSyntaxError(err.problems.join('; '));
    throw err;
  }
}

function parseNode(word: string | undefined, what: string): string {
  if (word === undefined || word === '') throw new ActionSyntaxError(`missing ${what}`);
  if (word !== ALL_NODES && !NODE_NAME.test(word)) {
    throw new ActionSyntaxError(`"${word}" is not a node name (lowercase letters, digits, "-"; or "*" for every node)`);
  }
  return word;
}

/** `n1->n2`, `n1<->n2` (both directions), `n1` or `*` (all egress). */
export function parseLinkSelector(text: string): LinkSelector[] {
  const both = text.split('<->');
  if (both.length === 2) {
    const a = parseNode(both[0], 'node before "<->"');
    const b = parseNode(both[1], 'node after "<->"');
    return [
      { from: a, to: b },
      { from: b, to: a },
    ];
  }
  const one = text.split('->');
  if (one.length === 2) {
    return [{ from: parseNode(one[0], 'node before "->"'), to: parseNode(one[1], 'node after "->"') }];
  }
  if (one.length > 2 || both.length > 2) throw new ActionSyntaxError(`"${text}" is not a link; write n1->n2, n1<->n2, n1 or *`);
  return [{ from: parseNode(text, 'node') }];
}

/** `n1 | n2,n3` → groups, or `n1 -/-> n2` → one-way cut. */
export function parsePartition(text: string): PartitionSpec {
  const oneWay = /^\s*(\S+)\s*-\/->\s*(\S+)\s*$/.exec(text);
  if (oneWay) {
    const from = parseNode(oneWay[1], 'node before "-/->"');
    const to = parseNode(oneWay[2], 'node after "-/->"');
    if (from === ALL_NODES || to === ALL_NODES) throw new ActionSyntaxError('a one-way cut names two nodes, not "*"');
    if (from === to) throw new ActionSyntaxError(`a one-way cut needs two different nodes, got "${from}" twice`);
    return { kind: 'one-way', from, to };
  }
  const groups = text.split('|').map((g) =>
    g
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n !== ''),
  );
  if (groups.length < 2) throw new ActionSyntaxError(`a partition needs at least two groups: "n1 | n2,n3" or "n1 -/-> n2"`);
  const seen = new Set<string>();
  for (const group of groups) {
    if (group.length === 0) throw new ActionSyntaxError('a partition group is empty');
    for (const node of group) {
      parseNode(node, 'node');
      if (node === ALL_NODES) throw new ActionSyntaxError('a partition group names nodes, not "*"');
      if (seen.has(node)) throw new ActionSyntaxError(`partition names node "${node}" twice`);
      seen.add(node);
    }
  }
  return { kind: 'groups', groups };
}

/** Parses one action line (without its `at` time). Throws ActionSyntaxError with what is allowed. */
export function parseAction(text: string): NetworkAction[] {
  const trimmed = text.trim();
  const verb = trimmed.split(/\s+/, 1)[0] ?? '';
  const rest = trimmed.slice(verb.length).trim();
  try {
    switch (verb) {
      case 'partition':
        return [{ kind: 'partition', partition: parsePartition(rest) }];
      case 'heal': {
        if (rest === '') return [{ kind: 'heal' }];
        const node = parseNode(rest, 'node');
        return [node === ALL_NODES ? { kind: 'heal' } : { kind: 'heal', node }];
      }
      case 'impair': {
        const [linkText, ...pairs] = rest.split(/\s+/);
        if (!linkText) throw new ActionSyntaxError('missing link (n1->n2, n1<->n2, n1 or *)');
        const input: Record<string, string> = {};
        for (const pair of pairs) {
          const m = /^([a-z]+)=(\S+)$/.exec(pair);
          if (!m || !(IMPAIRMENT_KEYS as readonly string[]).includes(m[1]!)) {
            throw new ActionSyntaxError(`"${pair}" is not key=value with key one of ${IMPAIRMENT_KEYS.join(', ')}`);
          }
          input[m[1]!] = m[2]!;
        }
        const impairment = buildImpairment(input);
        return parseLinkSelector(linkText).map((link) => ({ kind: 'impair', link, impairment: { ...impairment } }));
      }
      default: {
        if (!(IMPAIRMENT_KEYS as readonly string[]).includes(verb)) {
          throw new ActionSyntaxError(`unknown action "${verb}"; allowed: ${ACTION_VERBS.join(', ')}`);
        }
        // `delay n1->n2 200ms ±50ms` (also `+-50ms`): the shorthand for one key.
        const m = /^(\S+)\s+(\S+)(?:\s+(?:±|\+-)\s*(\S+))?$/.exec(rest);
        if (!m) throw new ActionSyntaxError(`write it like "${verb} n1->n2 ${example(verb as ImpairmentKey)}"`);
        const input: Record<string, string> = { [verb]: m[2]! };
        if (m[3] !== undefined) {
          if (verb !== 'delay') throw new ActionSyntaxError('"±" (jitter) only follows a delay');
          input.jitter = m[3];
        }
        const impairment = buildImpairment(input);
        return parseLinkSelector(m[1]!).map((link) => ({ kind: 'impair', link, impairment: { ...impairment } }));
      }
    }
  } catch (err) {
    if (err instanceof UnitError) throw new ActionSyntaxError(err.message);
    throw err;
  }
}

function example(key: ImpairmentKey): string {
  return { delay: '200ms', jitter: '20ms', loss: '10%', rate: '1mbit', duplicate: '1%', corrupt: '1%', reorder: '5%' }[key];
}

/** Every node name an action mentions (for the check against the topology). */
export function nodesOf(action: NetworkAction): string[] {
  switch (action.kind) {
    case 'impair':
      return [action.link.from, ...(action.link.to ? [action.link.to] : [])].filter((n) => n !== ALL_NODES);
    case 'partition':
      return action.partition.kind === 'groups' ? action.partition.groups.flat() : [action.partition.from, action.partition.to];
    case 'heal':
      return action.node ? [action.node] : [];
  }
}

/** The action back in its one-line syntax (for logs, manifests and tables). */
export function describeAction(action: NetworkAction): string {
  const link = (l: LinkSelector) => (l.to ? `${l.from}->${l.to}` : l.from);
  switch (action.kind) {
    case 'impair':
      return `impair ${link(action.link)} ${describeImpairment(action.impairment)}`;
    case 'partition':
      return action.partition.kind === 'groups'
        ? `partition ${action.partition.groups.map((g) => g.join(',')).join(' | ')}`
        : `partition ${action.partition.from} -/-> ${action.partition.to}`;
    case 'heal':
      return action.node ? `heal ${action.node}` : 'heal';
  }
}

export function describeImpairment(i: Impairment): string {
  const parts: string[] = [];
  if (i.delayMs) parts.push(`delay=${i.delayMs}ms`);
  if (i.jitterMs) parts.push(`jitter=${i.jitterMs}ms`);
  if (i.lossPct) parts.push(`loss=${i.lossPct}%`);
  if (i.rateBps !== undefined) parts.push(`rate=${formatRate(i.rateBps)}`);
  if (i.duplicatePct) parts.push(`duplicate=${i.duplicatePct}%`);
  if (i.corruptPct) parts.push(`corrupt=${i.corruptPct}%`);
  if (i.reorderPct) parts.push(`reorder=${i.reorderPct}%`);
  return parts.join(' ');
}
