/**
 * A lab-wide change as each node's ops: an egress condition is one op on its node; a cut is two,
 * one per side (the sender blocks packets to the receiver, the receiver packets from the sender).
 */
import { egressConditions, partitionCuts, type Action, type Cut, type EgressCondition, type NemesisAction, type NetworkAction } from '../conditions/index.js';
import type { NodeOp } from './render.js';

export type LabOps = Map<string, NodeOp[]>;

function add(out: LabOps, node: string, ...ops: NodeOp[]): LabOps {
  out.set(node, [...(out.get(node) ?? []), ...ops]);
  return out;
}

export function mergeOps(...parts: LabOps[]): LabOps {
  const out: LabOps = new Map();
  for (const p of parts) for (const [node, ops] of p) add(out, node, ...ops);
  return out;
}

export function egressOps(conds: readonly EgressCondition[], untilMs?: number): LabOps {
  const out: LabOps = new Map();
  for (const c of conds) add(out, c.node, { op: 'impair', to: c.to, impairment: c.impairment, ...(untilMs !== undefined ? { untilMs } : {}) });
  return out;
}

export function cutOps(cuts: readonly Cut[], opts: { untilMs?: number; tag?: string } = {}): LabOps {
  const out: LabOps = new Map();
  const extra = { ...(opts.untilMs !== undefined ? { untilMs: opts.untilMs } : {}), ...(opts.tag !== undefined ? { tag: opts.tag } : {}) };
  for (const cut of cuts) {
    add(out, cut.from, { op: 'cut', cut, side: 'from', ...extra });
    add(out, cut.to, { op: 'cut', cut, side: 'to', ...extra });
  }
  return out;
}

/** Every node drops the cuts a tag (a nemesis) put there. */
export function untagOps(nodes: readonly string[], tag: string): LabOps {
  return new Map(nodes.map((n) => [n, [{ op: 'uncut', tag } as NodeOp]]));
}

/** Everything (no node), or everything involving `node`, on every node. */
export function healOps(nodes: readonly string[], node?: string): LabOps {
  return new Map(nodes.map((n) => [n, [node === undefined ? ({ op: 'heal' } as NodeOp) : ({ op: 'heal-node', node } as NodeOp)]]));
}

/** A network action of the condition language as each node's ops. */
export function actionOps(action: NetworkAction, nodes: readonly string[], opts: { untilMs?: number; tag?: string } = {}): LabOps {
  switch (action.kind) {
    case 'impair':
      return egressOps(egressConditions(action, nodes), opts.untilMs);
    case 'partition':
      return cutOps(partitionCuts(action.partition, action.style), opts);
    case 'heal':
      return healOps(nodes, action.node);
  }
}

/** A nemesis tick: every node drops the cuts the nemesis put in before, and takes its new ones (one switch). */
export function nemesisOps(action: NemesisAction, nodes: readonly string[]): LabOps {
  return mergeOps(untagOps(nodes, action.tag), cutOps(action.cuts, { tag: action.tag }));
}

/** What a timeline step does to the nodes' conditions; process faults do nothing here (they act on containers). */
export function stepOps(action: Action, nodes: readonly string[]): LabOps {
  if (action.kind === 'process') return new Map();
  if (action.kind === 'nemesis') return nemesisOps(action, nodes);
  return actionOps(action, nodes);
}
