/**
 * Pure planning: a node's conditions + the lab's addresses + the backend → the exact argv lists,
 * in the order that never leaves traffic in a broken state:
 *   apply:    helpers (started and bound) → tc tree → iptables rules (which start sending to queues)
 *   teardown: iptables rules → helpers (drain held packets and exit) → tc tree
 */
import { ALL_PEERS, needsPacketStage, type Cut, type EgressCondition } from '../conditions/index.js';
import type { Backend, NodeAddressing } from './model.js';
import { FIRST_QUEUE, type QueuedDestination, buildImpairRules, cutRules, teardownImpairRules } from './iptables.js';
import { helperStart, helperStop } from './helper.js';
import { buildTcTree, teardownTc } from './tc.js';

export interface HelperLaunch {
  queue: number;
  to: string;
  argv: string[];
}

export interface ImpairPlan {
  helpers: HelperLaunch[];
  tc: string[][];
  iptables: string[][];
}

export interface ImpairTeardown {
  iptables: string[][];
  helpers: string[][];
  tc: string[][];
}

export function addressesOf(lab: readonly NodeAddressing[], node: string): string[] {
  const n = lab.find((x) => x.name === node);
  if (!n) throw new Error(`unknown node "${node}"; the lab's nodes are: ${lab.map((x) => x.name).join(', ')}`);
  return n.addresses;
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

/** All of one node's egress conditions → the commands that put them in force on `devices`. */
export function planImpairments(
  conds: readonly EgressCondition[],
  lab: readonly NodeAddressing[],
  devices: readonly string[],
  backend: Backend,
  seed?: number,
): ImpairPlan {
  if (conds.length === 0) return { helpers: [], tc: [], iptables: [] };
  let nextQueue = FIRST_QUEUE;
  const dests: (QueuedDestination & { node: string })[] = conds.map((c) => {
    const d: QueuedDestination & { node: string } = {
      node: c.node,
      to: c.to,
      addresses: c.to === ALL_PEERS ? [] : addressesOf(lab, c.to),
      impairment: c.impairment,
    };
    if (backend === 'userspace' && needsPacketStage(c.impairment)) d.queue = nextQueue++;
    return d;
  });
  const helpers = dests
    .filter((d) => d.queue !== undefined)
    .map((d) => ({
      queue: d.queue!,
      to: d.to,
      argv: helperStart(d.queue!, d.impairment, seed === undefined ? undefined : helperSeed(seed, d.node, d.to)),
    }));
  return {
    helpers,
    tc: devices.flatMap((dev) => buildTcTree(dev, dests, backend)),
    iptables: buildImpairRules(dests),
  };
}

/** Removes every impairment of a node: its mangle chain, its helpers (by queue) and its qdisc trees. */
export function planImpairTeardown(devices: readonly string[], queues: readonly number[]): ImpairTeardown {
  return {
    iptables: teardownImpairRules(),
    helpers: queues.map((q) => helperStop(q)),
    tc: devices.flatMap((dev) => teardownTc(dev)),
  };
}

/** Cuts → per-node commands (each cut has rules on both its nodes). */
export function planCuts(cuts: readonly Cut[], lab: readonly NodeAddressing[], op: '-A' | '-D'): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  const push = (node: string, cmds: string[][]) => out.set(node, [...(out.get(node) ?? []), ...cmds]);
  for (const cut of cuts) {
    push(cut.from, cutRules(cut, 'from', addressesOf(lab, cut.to), op));
    push(cut.to, cutRules(cut, 'to', addressesOf(lab, cut.from), op));
  }
  return out;
}
