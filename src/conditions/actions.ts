/**
 * Actions on a lab's network, in one line of text — the steps of a fault timeline, a condition's
 * `apply:` list, and what the CLI verbs do:
 *
 *   delay n1->n2 200ms [±50ms]     one direction (n1's packets to n2); `n1<->n2` both; `n1` or `*` all egress
 *   loss n1->n2 10%                also rate, jitter, duplicate, corrupt, reorder, delay-correlation, loss-correlation
 *   impair n1->n2 delay=200ms jitter=50ms loss=10% rate=1mbit
 *   partition n1 | n2,n3           groups that cannot reach each other (packets dropped); `partition … reset` refuses TCP
 *   partition n1 -/-> n2           one direction only
 *   heal [n1]                      remove every impairment and partition (or those involving n1)
 *   kill|stop|start|restart|pause|resume n1
 *                                  process faults: kill = SIGKILL, stop = SIGTERM with a grace, pause =
 *                                  freeze every process (the crash that looks like a slow node)
 */
import { ConditionError, conditionError, describeImpairment, impairmentKey, parseImpairment, parseImpairmentPairs, type Impairment } from './impairment.js';
import { ALL_NODES, describePartition, parseNodeName, parsePartition, partitionNodes, type Cut, type CutStyle, type PartitionSpec } from './partition.js';

/** Which packets an action concerns: `from`'s egress, only towards `to` when set (`*`: every node). */
export interface LinkSelector {
  from: string;
  to?: string;
}

/** The destination of an egress condition that covers all of a node's egress. */
export const ALL_PEERS = '*';

/** One node's egress condition, to one peer or to all (`to: '*'`). */
export interface EgressCondition {
  node: string;
  to: string;
  impairment: Impairment;
}

export type NetworkAction =
  | { kind: 'impair'; link: LinkSelector; impairment: Impairment }
  | { kind: 'partition'; partition: PartitionSpec; style: CutStyle }
  | { kind: 'heal'; node?: string };

/** What a process fault does to a node's container. */
export const PROCESS_VERBS = ['kill', 'stop', 'start', 'restart', 'pause', 'resume'] as const;
export type ProcessVerb = (typeof PROCESS_VERBS)[number];
export type ProcessAction = { kind: 'process'; verb: ProcessVerb; node: string };

/**
 * A step of a nemesis schedule (nemesis.ts), as played: the cuts it chose at this tick replace the
 * ones it put in force before (its `tag`), or (`cuts: []`) it ends and removes them.
 */
export type NemesisAction = { kind: 'nemesis'; tag: string; name: string; cuts: Cut[]; groups?: string[][] };

/** Anything a timeline step can do. */
export type Action = NetworkAction | ProcessAction | NemesisAction;

export const NETWORK_VERBS = ['impair', 'partition', 'heal'] as const;
/** `delay a->b 50ms`: one key as a verb. */
const SHORTHAND_KEYS = ['delay', 'jitter', 'loss', 'rate', 'duplicate', 'corrupt', 'reorder', 'delay-correlation', 'loss-correlation'] as const;
export const ACTION_VERBS: readonly string[] = [...NETWORK_VERBS, ...SHORTHAND_KEYS, ...PROCESS_VERBS];

/** `n1->n2`, `n1<->n2` (both directions), `n1` or `*` (all egress). */
export function parseLinkSelector(text: string): LinkSelector[] {
  const both = text.split('<->');
  if (both.length === 2) {
    const a = parseNodeName(both[0], 'node before "<->"');
    const b = parseNodeName(both[1], 'node after "<->"');
    if (a === b) throw conditionError(`a link joins two different nodes (got "${a}" twice)`);
    return [{ from: a, to: b }, { from: b, to: a }];
  }
  const one = text.split('->');
  if (one.length === 2) {
    const from = parseNodeName(one[0], 'node before "->"', { allowAll: true });
    const to = parseNodeName(one[1], 'node after "->"', { allowAll: true });
    if (from === to && from !== ALL_NODES) throw conditionError(`a link joins two different nodes (got "${from}" twice)`);
    return [to === ALL_NODES ? { from } : { from, to }];
  }
  if (one.length > 2 || both.length > 2) throw conditionError(`"${text}" is not a link; write n1->n2, n1<->n2, n1 or *`);
  return [{ from: parseNodeName(text, 'node', { allowAll: true }) }];
}

export function describeLink(l: LinkSelector): string {
  return l.to ? `${l.from}->${l.to}` : l.from;
}

/** Parses one action line (without its `at` time). Throws ConditionError saying what is allowed. */
export function parseAction(text: string): Action[] {
  const trimmed = text.trim();
  const verb = trimmed.split(/\s+/, 1)[0] ?? '';
  const rest = trimmed.slice(verb.length).trim();
  if ((PROCESS_VERBS as readonly string[]).includes(verb)) {
    const words = rest.split(/\s+/).filter(Boolean);
    if (words.length !== 1) throw conditionError(`write it like "${verb} n1": one node (got "${rest}")`);
    return [{ kind: 'process', verb: verb as ProcessVerb, node: parseNodeName(words[0], 'node') }];
  }
  return parseNetworkAction(verb, rest);
}

/** An action line that must be a network action (a condition's `apply:` list): process faults belong to timelines. */
export function parseNetworkActionLine(text: string): NetworkAction[] {
  const actions = parseAction(text);
  const other = actions.find((a) => a.kind !== 'impair' && a.kind !== 'partition' && a.kind !== 'heal');
  if (other) throw conditionError(`"${text.trim()}" is a process fault; it belongs in a timeline ("at: 5s ${text.trim()}")`);
  return actions as NetworkAction[];
}

function parseNetworkAction(verb: string, rest: string): NetworkAction[] {
  switch (verb) {
    case 'partition': {
      const reset = /\s+reset$/.exec(rest);
      return [{ kind: 'partition', partition: parsePartition(reset ? rest.slice(0, reset.index) : rest), style: reset ? 'reset' : 'drop' }];
    }
    case 'heal': {
      if (rest === '') return [{ kind: 'heal' }];
      const node = parseNodeName(rest, 'node', { allowAll: true });
      return [node === ALL_NODES ? { kind: 'heal' } : { kind: 'heal', node }];
    }
    case 'impair': {
      const [linkText, ...pairs] = rest.split(/\s+/);
      if (!linkText) throw conditionError('missing link (n1->n2, n1<->n2, n1 or *)');
      return impairActions(linkText, parseImpairmentPairs(pairs));
    }
    default: {
      const key = impairmentKey(verb);
      if (key === undefined || key === 'distribution') throw conditionError(`unknown action "${verb}"; allowed: ${ACTION_VERBS.join(', ')}`);
      // `delay n1->n2 200ms ±50ms` (also `+-50ms`): the shorthand for one key.
      const m = /^(\S+)\s+(\S+)(?:\s+(?:±|\+-)\s*(\S+))?$/.exec(rest);
      if (!m) throw conditionError(`write it like "${verb} n1->n2 ${EXAMPLES[verb] ?? 'VALUE'}"`);
      if (m[3] !== undefined && key !== 'delay') throw conditionError('"±" (jitter) only follows a delay');
      return impairActions(m[1]!, { [key]: m[2]!, ...(m[3] !== undefined ? { jitter: m[3] } : {}) });
    }
  }
}

const EXAMPLES: Record<string, string> = {
  delay: '200ms', jitter: '20ms', loss: '10%', rate: '1mbit', duplicate: '1%', corrupt: '1%', reorder: '5%',
  'delay-correlation': '25%', 'loss-correlation': '25%',
};

function impairActions(linkText: string, input: Parameters<typeof parseImpairment>[0]): NetworkAction[] {
  const links = parseLinkSelector(linkText);
  const impairment = parseImpairment(input);
  return links.map((link) => ({ kind: 'impair', link, impairment: { ...impairment } }));
}

/** Every node name an action mentions (for the check against the topology). */
export function nodesOf(action: Action): string[] {
  switch (action.kind) {
    case 'process':
      return [action.node];
    case 'nemesis':
      return [...new Set(action.cuts.flatMap((c) => [c.from, c.to]))];
    case 'impair':
      return [action.link.from, ...(action.link.to ? [action.link.to] : [])].filter((n) => n !== ALL_NODES);
    case 'partition':
      return partitionNodes(action.partition);
    case 'heal':
      return action.node ? [action.node] : [];
  }
}

/** The action back in its one-line syntax (for logs, manifests and tables). */
export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'process':
      return `${action.verb} ${action.node}`;
    case 'nemesis':
      if (action.cuts.length === 0) return `${action.name}: ends`;
      return `${action.name}: ${action.groups ? action.groups.map((g) => g.join(',')).join(' | ') : action.cuts.map((c) => `${c.from}-/->${c.to}`).join(' ')}`;
    case 'impair':
      return `impair ${describeLink(action.link)} ${describeImpairment(action.impairment)}`;
    case 'partition':
      return `partition ${describePartition(action.partition)}${action.style === 'reset' ? ' reset' : ''}`;
    case 'heal':
      return action.node ? `heal ${action.node}` : 'heal';
  }
}

/** An impair action → the egress conditions it sets (`*` as the sender expands to every node). */
export function egressConditions(action: NetworkAction & { kind: 'impair' }, nodes: readonly string[]): EgressCondition[] {
  const from = action.link.from === ALL_NODES ? nodes : [action.link.from];
  return from
    .filter((node) => node !== action.link.to)
    .map((node) => ({ node, to: action.link.to ?? ALL_PEERS, impairment: action.impairment }));
}

/** Checks an egress condition's node and peer against the lab's nodes. */
export function checkEgress(cond: EgressCondition, nodes: readonly string[]): void {
  const problems: string[] = [];
  if (!nodes.includes(cond.node)) problems.push(`unknown node "${cond.node}"; the lab's nodes are: ${nodes.join(', ')}`);
  if (cond.to !== ALL_PEERS) {
    if (!nodes.includes(cond.to)) problems.push(`unknown peer "${cond.to}"; the lab's nodes are: ${nodes.join(', ')}`);
    else if (cond.to === cond.node) problems.push(`node "${cond.node}" cannot be impaired towards itself`);
  }
  if (problems.length > 0) throw new ConditionError(problems.map((message) => ({ message })));
}
