/**
 * A node's conditions as state, and the pure planning from state to kernel: what resources each
 * state needs (stages), and the one iptables-restore batch that puts it in force.
 *
 *   NodeState      what should be in force on one node: its egress impairments and its side of every cut
 *   NodeOp         a change to it (what a CLI verb, a condition or a timeline step does on this node)
 *   Stage          one (destination, impairment) in use, with its resources: a tc class (rate, netem
 *                  leaf) and/or a userspace helper on its own NFQUEUE. Stages are content-keyed, so a
 *                  timeline's stages are built once, ahead, and reused when a state comes back.
 *   renderRestore  the state → its generation of the acklab chains and the gotos to it, as one add-only iptables-restore batch
 *
 * Planning is here, with no I/O, so the agent in each sidecar and `--dry-run` use the same code.
 */
import { ALL_PEERS, describeImpairment, needsPacketStage, type Cut, type CutStyle, type Impairment } from '../conditions/index.js';
import { helperStart } from './helper.js';
import { cutRules, generationBatch, impairRules, switchBatch, type RuleDestination } from './iptables.js';
import type { Backend } from './model.js';
import { encodeImpairComment } from './spec-comment.js';
import { FIRST_CLASS_MINOR, LAST_CLASS_MINOR, needsClass, tcStageClass, tcStageClassDelete } from './tc.js';

/** One egress impairment of a node. `untilMs`: epoch ms after which it lapses by itself. */
export interface ImpairEntry {
  to: string;
  impairment: Impairment;
  untilMs?: number;
}

/** This node's side of one cut. `tag`: who put it there (a nemesis replaces its own cuts by tag). */
export interface CutEntry {
  from: string;
  to: string;
  style: CutStyle;
  side: 'from' | 'to';
  untilMs?: number;
  tag?: string;
}

export interface NodeState {
  impairments: ImpairEntry[];
  cuts: CutEntry[];
}

export const EMPTY_STATE: NodeState = Object.freeze({ impairments: [], cuts: [] }) as unknown as NodeState;

export type NodeOp =
  /** Sets (or replaces) the node's condition towards `to` ('*' = all egress). */
  | { op: 'impair'; to: string; impairment: Impairment; untilMs?: number }
  /** Removes the node's condition towards `to`, or all of them. */
  | { op: 'unimpair'; to?: string }
  /** Adds (or restyles) this node's side of a cut. */
  | { op: 'cut'; cut: Cut; side: 'from' | 'to'; untilMs?: number; tag?: string }
  /** Removes this node's cuts that match (every given field must match). */
  | { op: 'uncut'; from?: string; to?: string; tag?: string }
  /** Removes everything. */
  | { op: 'heal' }
  /** Removes everything that involves `node`: its own conditions when it is this node, conditions towards it, its cuts. */
  | { op: 'heal-node'; node: string };

/** The state after `ops`, in order. `self` is this node's name (for heal-node). */
export function applyOps(state: NodeState, ops: readonly NodeOp[], self: string): NodeState {
  let impairments = [...state.impairments];
  let cuts = [...state.cuts];
  for (const o of ops) {
    switch (o.op) {
      case 'impair':
        impairments = [...impairments.filter((i) => i.to !== o.to), { to: o.to, impairment: o.impairment, ...(o.untilMs !== undefined ? { untilMs: o.untilMs } : {}) }];
        break;
      case 'unimpair':
        impairments = o.to === undefined ? [] : impairments.filter((i) => i.to !== o.to);
        break;
      case 'cut': {
        const entry: CutEntry = { from: o.cut.from, to: o.cut.to, style: o.cut.style, side: o.side };
        if (o.untilMs !== undefined) entry.untilMs = o.untilMs;
        if (o.tag !== undefined) entry.tag = o.tag;
        cuts = [...cuts.filter((c) => !(c.from === entry.from && c.to === entry.to && c.side === entry.side)), entry];
        break;
      }
      case 'uncut':
        cuts = cuts.filter((c) => !((o.from === undefined || c.from === o.from) && (o.to === undefined || c.to === o.to) && (o.tag === undefined || c.tag === o.tag)));
        break;
      case 'heal':
        impairments = [];
        cuts = [];
        break;
      case 'heal-node':
        impairments = o.node === self ? [] : impairments.filter((i) => i.to !== o.node);
        cuts = cuts.filter((c) => c.from !== o.node && c.to !== o.node);
        break;
    }
  }
  return { impairments, cuts };
}

/** The state without what lapsed by `nowMs`, and when the next entry lapses (undefined: none). */
export function expire(state: NodeState, nowMs: number): { state: NodeState; lapsed: boolean; nextMs?: number } {
  const live = <T extends { untilMs?: number }>(xs: T[]) => xs.filter((x) => x.untilMs === undefined || x.untilMs > nowMs);
  const next = { impairments: live(state.impairments), cuts: live(state.cuts) };
  const lapsed = next.impairments.length !== state.impairments.length || next.cuts.length !== state.cuts.length;
  const untils = [...next.impairments, ...next.cuts].flatMap((x) => (x.untilMs === undefined ? [] : [x.untilMs]));
  return { state: next, lapsed, ...(untils.length ? { nextMs: Math.min(...untils) } : {}) };
}

export function sameState(a: NodeState, b: NodeState): boolean {
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

function normalise(s: NodeState) {
  return {
    impairments: [...s.impairments].sort((x, y) => x.to.localeCompare(y.to)),
    cuts: [...s.cuts].sort((x, y) => `${x.from}>${x.to}>${x.side}`.localeCompare(`${y.from}>${y.to}>${y.side}`)),
  };
}

/** One (destination, impairment) in use, and the resources that carry it. */
export interface Stage {
  key: string;
  to: string;
  impairment: Impairment;
  classMinor?: number;
  queue?: number;
}

export const stageKey = (to: string, imp: Impairment) => `${to}|${describeImpairment(imp)}`;

/** NFQUEUE numbers of stages; queue numbers are per namespace. */
export const FIRST_QUEUE = 100;
export const LAST_QUEUE = 65000;

/**
 * The stages `states` need, reusing `existing` ones by key and giving new ones free class minors
 * and queue numbers (never one an existing stage holds, so old and new stages live side by side
 * until a switch moves traffic from one to the other).
 */
export function allocateStages(states: readonly NodeState[], existing: ReadonlyMap<string, Stage>, backend: Backend): Map<string, Stage> {
  const out = new Map<string, Stage>();
  const minors = new Set([...existing.values()].flatMap((s) => (s.classMinor === undefined ? [] : [s.classMinor])));
  const queues = new Set([...existing.values()].flatMap((s) => (s.queue === undefined ? [] : [s.queue])));
  const free = (used: Set<number>, first: number, last: number, what: string) => {
    for (let n = first; n <= last; n++) if (!used.has(n)) return used.add(n), n;
    throw new Error(`no free ${what} left (${last - first + 1} in use)`);
  };
  for (const state of states) {
    for (const e of state.impairments) {
      const key = stageKey(e.to, e.impairment);
      if (out.has(key)) continue;
      const old = existing.get(key);
      if (old) {
        out.set(key, old);
        continue;
      }
      const stage: Stage = { key, to: e.to, impairment: e.impairment };
      if (needsClass(e.impairment, backend)) stage.classMinor = free(minors, FIRST_CLASS_MINOR, LAST_CLASS_MINOR, 'tc class minor');
      if (backend === 'userspace' && needsPacketStage(e.impairment)) stage.queue = free(queues, FIRST_QUEUE, LAST_QUEUE, 'NFQUEUE number');
      out.set(key, stage);
    }
  }
  return out;
}

/** Every node's addresses, for rules that name peers. */
export type Addressing = Readonly<Record<string, readonly string[]>>;

/** The iptables-restore batch that puts `state` in force, with `stages` providing its classes and queues. */
/** A state's rules: the ACKLAB-IMPAIR rules and the cut rules, as `-A <hooked chain> …` argument lists. */
function stateRules(state: NodeState, stages: ReadonlyMap<string, Stage>, addressing: Addressing): { impair: string[][]; cuts: string[][] } {
  const destinations: RuleDestination[] = state.impairments.map((e) => {
    const stage = stages.get(stageKey(e.to, e.impairment));
    if (!stage) throw new Error(`no stage for ${stageKey(e.to, e.impairment)}`);
    const d: RuleDestination = { to: e.to, addresses: e.to === ALL_PEERS ? [] : [...(addressing[e.to] ?? [])], record: encodeImpairComment(e.to, e.impairment) };
    if (stage.classMinor !== undefined) d.classMinor = stage.classMinor;
    if (stage.queue !== undefined) d.queue = stage.queue;
    return d;
  });
  const cuts = state.cuts.flatMap((c) => cutRules({ from: c.from, to: c.to, style: c.style }, c.side, addressing[c.side === 'from' ? c.to : c.from] ?? []));
  return { impair: impairRules(destinations), cuts };
}

/** The switch to `state` as generation `generation`; `prepared` when `renderGeneration` already made its chains. */
export function renderRestore(state: NodeState, stages: ReadonlyMap<string, Stage>, addressing: Addressing, generation: number, prepared = false): string {
  const { impair, cuts } = stateRules(state, stages, addressing);
  return switchBatch(impair, cuts, generation, { prepared });
}

/** `state`'s generation of chains, made ahead and reached by nothing until its switch. */
export function renderGeneration(state: NodeState, stages: ReadonlyMap<string, Stage>, addressing: Addressing, generation: number): string {
  const { impair, cuts } = stateRules(state, stages, addressing);
  return generationBatch(impair, cuts, generation);
}

/**
 * The helper seed for one node's impaired destination: derived from the run's seed so that a run
 * can be replayed, and different per node and destination so their random choices are independent.
 * Never 0 (the helper takes 0 as "seed from the clock").
 */
export function helperSeed(seed: number, node: string, to: string): number {
  let h = 0x811c9dc5; // FNV-1a, 32 bit
  for (const ch of `${seed}:${node}:${to}`) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h || 1;
}

/** What building one stage takes: its tc class on every device, and its helper. */
export function stageSetup(stage: Stage, devices: readonly string[], backend: Backend, node: string, seed?: number): { tc: string[][]; helper?: string[] } {
  const tc = stage.classMinor === undefined ? [] : devices.flatMap((dev) => tcStageClass(dev, stage.classMinor!, stage.impairment, backend));
  if (stage.queue === undefined) return { tc };
  return { tc, helper: helperStart(stage.queue, stage.impairment, seed === undefined ? undefined : helperSeed(seed, node, stage.to)) };
}

/** What removing a stage takes (its helper is stopped by whoever started it). */
export function stageTeardown(stage: Stage, devices: readonly string[]): string[][] {
  return stage.classMinor === undefined ? [] : devices.flatMap((dev) => tcStageClassDelete(dev, stage.classMinor!));
}
