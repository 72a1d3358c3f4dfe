/**
 * Nemesis schedules (Jepsen's nemeses, Maelstrom's `--nemesis partition`): faults that repeat on a
 * period, with groups chosen at random — from a seed, so the same seed replays the same groups.
 *
 *   every 5s partition random-halves [among a,b,c,d] [from 2s] [until 20s]
 *       random-halves   two groups of (about) half the nodes
 *       isolate-one     one node alone, the rest together
 *       majority-ring   nodes on a ring, each sees its nearest neighbours: every node sees a
 *                       majority, no two see the same one (Jepsen's majorities-ring)
 *       bridge          two halves that cannot reach each other, and one node that reaches both
 *   flap a->b 2s [from 4s] [until 12s]     the one-way cut a -/-> b goes in and out every 2 s
 *
 * At each tick the nemesis's new cuts replace the ones it put in before (one switch per node); at
 * `until` (or the end of the run) its cuts go. A schedule is expanded before the run starts, into
 * ordinary timeline steps whose chosen groups are recorded.
 */
import { formatDuration, parseDuration, shuffle, type Rng } from '../common/index.js';
import type { NemesisAction } from './actions.js';
import { conditionError } from './impairment.js';
import { parseNodeName, partitionCuts, type Cut } from './partition.js';

export const PARTITION_NEMESES = ['random-halves', 'isolate-one', 'majority-ring', 'bridge'] as const;
export type PartitionNemesis = (typeof PARTITION_NEMESES)[number];

export type NemesisSpec =
  | { kind: 'partition'; mode: PartitionNemesis; everyMs: number; fromMs: number; untilMs?: number; among?: string[] }
  | { kind: 'flap'; from: string; to: string; everyMs: number; fromMs: number; untilMs?: number };

/** A step the nemesis plays: at its offset from t0, with the text the timeline records. */
export interface NemesisStep {
  atMs: number;
  action: NemesisAction;
  text: string;
}

/** Shortest period a nemesis may have: each tick is a switch on every node it touches. */
export const MIN_NEMESIS_PERIOD_MS = 100;

function duration(word: string | undefined, what: string): number {
  if (word === undefined) throw conditionError(`missing ${what}`);
  try {
    return parseDuration(word);
  } catch (err) {
    throw conditionError(`${what}: ${(err as Error).message}`);
  }
}

/** Parses a nemesis line (see the file comment). */
export function parseNemesis(text: string): NemesisSpec {
  const words = text.trim().split(/\s+/);
  const options = (rest: string[]): { fromMs: number; untilMs?: number; among?: string[] } => {
    const out: { fromMs: number; untilMs?: number; among?: string[] } = { fromMs: 0 };
    for (let i = 0; i < rest.length; i += 2) {
      const [key, value] = [rest[i], rest[i + 1]];
      if (key === 'from') out.fromMs = duration(value, '"from"');
      else if (key === 'until') out.untilMs = duration(value, '"until"');
      else if (key === 'among') out.among = (value ?? '').split(',').map((n) => parseNodeName(n, 'node after "among"'));
      else throw conditionError(`"${key}" is not an option of a nemesis; allowed: among NODES, from DURATION, until DURATION`);
    }
    if (out.untilMs !== undefined && out.untilMs <= out.fromMs) throw conditionError(`"until" (${formatDuration(out.untilMs)}) must be after "from" (${formatDuration(out.fromMs)})`);
    return out;
  };
  const period = (ms: number) => {
    if (ms < MIN_NEMESIS_PERIOD_MS) throw conditionError(`a nemesis period is at least ${formatDuration(MIN_NEMESIS_PERIOD_MS)} (got ${formatDuration(ms)})`);
    return ms;
  };
  if (words[0] === 'every') {
    const everyMs = period(duration(words[1], 'the period after "every"'));
    if (words[2] !== 'partition') throw conditionError(`write it like "every 5s partition random-halves" (got "${text.trim()}")`);
    const mode = words[3] as PartitionNemesis;
    if (!(PARTITION_NEMESES as readonly string[]).includes(mode)) throw conditionError(`"${words[3] ?? ''}" is not a partition nemesis; allowed: ${PARTITION_NEMESES.join(', ')}`);
    const o = options(words.slice(4));
    if (o.among && o.among.length < 2) throw conditionError('a partition nemesis needs at least two nodes "among"');
    return { kind: 'partition', mode, everyMs, ...o };
  }
  if (words[0] === 'flap') {
    const link = /^(\S+)->(\S+)$/.exec(words[1] ?? '');
    if (!link) throw conditionError(`write it like "flap a->b 2s" (got "${text.trim()}")`);
    const from = parseNodeName(link[1], 'node before "->"');
    const to = parseNodeName(link[2], 'node after "->"');
    if (from === to) throw conditionError(`a flap needs two different nodes (got "${from}" twice)`);
    const o = options(words.slice(3));
    if (o.among) throw conditionError('"among" is for partition nemeses; a flap names its link');
    return { kind: 'flap', from, to, everyMs: period(duration(words[2], 'the period after the link')), fromMs: o.fromMs, ...(o.untilMs !== undefined ? { untilMs: o.untilMs } : {}) };
  }
  throw conditionError(`unknown nemesis "${words[0] ?? ''}"; write "every 5s partition ${PARTITION_NEMESES.join('|')}" or "flap a->b 2s"`);
}

/** The nodes a spec names (for the check against the topology). */
export function nemesisNodes(spec: NemesisSpec): string[] {
  return spec.kind === 'flap' ? [spec.from, spec.to] : (spec.among ?? []);
}

/** One tick of a partition nemesis: the groups (when it is a partition into groups) and the cuts. */
export function chooseCuts(mode: PartitionNemesis, nodes: readonly string[], rng: Rng): { cuts: Cut[]; groups?: string[][] } {
  const ring = shuffle(nodes, rng);
  const n = ring.length;
  switch (mode) {
    case 'random-halves': {
      const groups = [ring.slice(0, Math.floor(n / 2)), ring.slice(Math.floor(n / 2))];
      return { groups, cuts: partitionCuts({ kind: 'groups', groups }) };
    }
    case 'isolate-one': {
      const groups = [[ring[0]!], ring.slice(1)];
      return { groups, cuts: partitionCuts({ kind: 'groups', groups }) };
    }
    case 'bridge': {
      // Two halves and a bridge node that sees both: every cut between the halves, none from the bridge.
      const bridge = ring[0]!;
      const rest = ring.slice(1);
      const a = rest.slice(0, Math.floor(rest.length / 2));
      const b = rest.slice(Math.floor(rest.length / 2));
      const cuts = partitionCuts({ kind: 'groups', groups: [a, b] });
      return { groups: [[...a, bridge], [bridge, ...b]], cuts };
    }
    case 'majority-ring': {
      // Each node sees itself and its ⌊m/2⌋ nearest neighbours on each side, m the majority size.
      const majority = Math.floor(n / 2) + 1;
      const reach = Math.max(1, Math.floor(majority / 2));
      const sees = (i: number, j: number) => {
        const d = Math.abs(i - j);
        return Math.min(d, n - d) <= reach;
      };
      const cuts: Cut[] = [];
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && !sees(i, j)) cuts.push({ from: ring[i]!, to: ring[j]!, style: 'drop' });
      return { cuts };
    }
  }
}

/**
 * The steps a nemesis plays within a run of `durationMs`: one per tick from `from` (exclusive of
 * `until`), then the step that ends it. `index` names it (its tag); `nodes` are the lab's nodes.
 */
export function expandNemesis(spec: NemesisSpec, index: number, nodes: readonly string[], rng: Rng, durationMs: number): NemesisStep[] {
  const tag = `nemesis-${index + 1}`;
  const name = spec.kind === 'flap' ? `flap ${spec.from}->${spec.to} ${formatDuration(spec.everyMs)}` : `every ${formatDuration(spec.everyMs)} partition ${spec.mode}`;
  const end = Math.min(spec.untilMs ?? durationMs, durationMs);
  const steps: NemesisStep[] = [];
  const among = spec.kind === 'partition' ? (spec.among ?? [...nodes]) : [];
  let on = false;
  for (let t = spec.fromMs; t < end; t += spec.everyMs) {
    let action: NemesisAction;
    if (spec.kind === 'flap') {
      on = !on;
      action = { kind: 'nemesis', tag, name, cuts: on ? [{ from: spec.from, to: spec.to, style: 'drop' }] : [] };
    } else {
      const chosen = chooseCuts(spec.mode, among, rng);
      action = { kind: 'nemesis', tag, name, cuts: chosen.cuts, ...(chosen.groups ? { groups: chosen.groups } : {}) };
    }
    const what = spec.kind === 'flap' ? (on ? `${spec.from} -/-> ${spec.to}` : 'healed') : action.groups ? action.groups.map((g) => g.join(',')).join(' | ') : `${action.cuts.length} cuts`;
    steps.push({ atMs: t, action, text: `at ${formatDuration(t)} ${name}: ${what}` });
  }
  if (steps.length > 0 && end < durationMs) steps.push({ atMs: end, action: { kind: 'nemesis', tag, name, cuts: [] }, text: `at ${formatDuration(end)} ${name}: ends` });
  return steps;
}
