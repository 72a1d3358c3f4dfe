/**
 * Cuts and partitions. A `Cut` blocks one direction between two nodes; a partition `n1,n2 | n3`
 * is the set of cuts between every pair of groups; a one-way cut `n1 -/-> n2` is a single cut.
 * One parser serves the CLI (`acklab partition LAB n1,n2 n3`), experiment files and timelines.
 */
import { ConditionError, conditionError, type ConditionIssue } from './impairment.js';

export type CutStyle = 'drop' | 'reset';
export const CUT_STYLES: readonly CutStyle[] = ['drop', 'reset'];

/** One blocked direction: packets from `from` to `to` are dropped (or refused with a TCP reset). */
export interface Cut {
  from: string;
  to: string;
  style: CutStyle;
}

export type PartitionSpec = { kind: 'groups'; groups: string[][] } | { kind: 'one-way'; from: string; to: string };

/** `*` stands for every node of the lab (link selectors, heal). */
export const ALL_NODES = '*';

const NODE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** A node name token in condition text; `allowAll` accepts `*`. */
export function parseNodeName(word: string | undefined, what: string, { allowAll = false } = {}): string {
  if (word === undefined || word === '') throw conditionError(`missing ${what}`);
  if (word === ALL_NODES && allowAll) return word;
  if (!NODE_NAME.test(word)) {
    throw conditionError(`"${word}" is not a node name (lowercase letters, digits, "-"${allowAll ? '; or "*" for every node' : ''})`);
  }
  return word;
}

/**
 * `a -/-> b` (one direction), or groups: `a,b | c` — groups separated by `|`, or, when there is no
 * `|`, by blanks (the CLI's separate arguments `a,b c`); nodes in a group separated by `,`.
 */
export function parsePartition(text: string): PartitionSpec {
  const oneWay = /^\s*(\S+)\s*-\/->\s*(\S+)\s*$/.exec(text);
  if (oneWay) {
    const from = parseNodeName(oneWay[1], 'node before "-/->"');
    const to = parseNodeName(oneWay[2], 'node after "-/->"');
    if (from === to) throw conditionError(`a one-way cut needs two different nodes (got "${from}" twice)`);
    return { kind: 'one-way', from, to };
  }
  if (text.includes('-/->')) throw conditionError(`write a one-way cut as "a -/-> b" (got "${text.trim()}")`);
  const parts = text.includes('|') ? text.split('|') : text.trim().split(/\s+/);
  const groups = parts.map((g) => g.split(',').map((n) => n.trim()));
  const issues: ConditionIssue[] = [];
  if (groups.length < 2 || text.trim() === '') issues.push({ message: `a partition needs at least two groups (got ${text.trim() === '' ? 0 : groups.length}); write it like "n1,n2 | n3" or "n1 -/-> n2"` });
  const seen = new Map<string, number>();
  groups.forEach((group, i) => {
    if (group.every((n) => n === '')) {
      if (groups.length >= 2) issues.push({ message: `group ${i + 1} is empty` });
      return;
    }
    for (const node of group) {
      if (node === '') {
        issues.push({ message: `group ${i + 1} has an empty node name` });
        continue;
      }
      try {
        parseNodeName(node, 'node');
      } catch (err) {
        issues.push(...(err as ConditionError).issues);
        continue;
      }
      const first = seen.get(node);
      if (first !== undefined) issues.push({ message: `node "${node}" is named twice in the partition (groups ${first + 1} and ${i + 1})` });
      else seen.set(node, i);
    }
  });
  if (issues.length > 0) throw new ConditionError(issues);
  return { kind: 'groups', groups };
}

/** Every node a partition names. */
export function partitionNodes(p: PartitionSpec): string[] {
  return p.kind === 'groups' ? p.groups.flat() : [p.from, p.to];
}

/** Checks the nodes a partition names against the lab's nodes. */
export function checkPartitionNodes(p: PartitionSpec, nodes: readonly string[]): void {
  const unknown = partitionNodes(p).filter((n) => !nodes.includes(n));
  if (unknown.length > 0) throw new ConditionError(unknown.map((n) => ({ message: unknownNode(n, nodes) })));
}

/** The cuts a partition puts in force: every pair across groups, both directions; or the one direction. */
export function partitionCuts(p: PartitionSpec, style: CutStyle = 'drop'): Cut[] {
  if (p.kind === 'one-way') return [{ from: p.from, to: p.to, style }];
  const cuts: Cut[] = [];
  p.groups.forEach((g, i) =>
    p.groups.forEach((h, j) => {
      if (i === j) return;
      for (const from of g) for (const to of h) cuts.push({ from, to, style });
    }),
  );
  return cuts;
}

export function describePartition(p: PartitionSpec): string {
  return p.kind === 'groups' ? p.groups.map((g) => g.join(',')).join(' | ') : `${p.from} -/-> ${p.to}`;
}

export function describeCut(c: Cut): string {
  return `${c.from} -/-> ${c.to}${c.style === 'reset' ? ' (reset)' : ''}`;
}

export function sameCut(a: Cut, b: Cut): boolean {
  return a.from === b.from && a.to === b.to;
}

export function unknownNode(n: string, nodes: readonly string[]): string {
  return `unknown node "${n}"; the lab's nodes are: ${nodes.join(', ')}`;
}
