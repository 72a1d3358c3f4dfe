/**
 * tc(8) builders: the per-device qdisc tree that impairs traffic per destination.
 *
 * ```
 * dev eth0
 * root 1: htb default 1                     every packet not matched below → 1:1
 *  ├─ 1:1   htb rate 10gbit                  unimpaired default class (other peers stay untouched)
 *  ├─ 1:10  htb rate <rate|10gbit>           destination #0   ← u32 prio 1 match ip dst 10.0.0.3/32
 *  │   └─ 10: netem delay … loss …           (netem backend only; the userspace helper does this part)
 *  ├─ 1:11  htb rate …                       destination #1   ← u32 prio 1 match ip dst …
 *  │   └─ 11: netem …
 *  └─ 1:1f  htb rate …                       "all egress" (to '*') ← u32 prio 2 match ip dst 0.0.0.0/0
 *      └─ 1f: netem …
 * ```
 * htb, not prio: prio's priomap sends unmatched packets to band 1, so with pumba's recipe an
 * impairment leaks onto other peers; an htb default class keeps them untouched (tc-htb(8)).
 * Rate is the htb class's rate = ceil, so it composes with netem without tbf's burst surprises.
 */
import { formatRate } from '../common/index.js';
import { ALL_PEERS, needsPacketStage, type Impairment } from '../conditions/index.js';
import type { Backend } from './model.js';

/** Unimpaired classes get this rate: far above what a veth carries in a lab, so never the bottleneck. */
export const UNLIMITED_RATE = '10gbit';

export interface Destination {
  /** Peer node name, or '*' for all egress. */
  to: string;
  /** The peer's addresses (ignored for '*'). */
  addresses: string[];
  impairment: Impairment;
}

/** Class minor for destination i (hex, as tc expects): 0x10, 0x11, … */
export function classMinor(i: number): string {
  return (0x10 + i).toString(16);
}

/** netem(8) arguments for an impairment (without rate: htb does that). */
export function netemArgs(imp: Impairment): string[] {
  const a: string[] = [];
  if (imp.delayMs > 0) {
    a.push('delay', `${imp.delayMs}ms`);
    if (imp.jitterMs > 0) {
      a.push(`${imp.jitterMs}ms`);
      if (imp.delayCorrelationPct > 0) a.push(`${imp.delayCorrelationPct}%`);
      a.push('distribution', imp.distribution);
    }
  }
  if (imp.lossPct > 0) {
    a.push('loss', 'random', `${imp.lossPct}%`);
    if (imp.lossCorrelationPct > 0) a.push(`${imp.lossCorrelationPct}%`);
  }
  if (imp.duplicatePct > 0) a.push('duplicate', `${imp.duplicatePct}%`);
  if (imp.reorderPct > 0) a.push('reorder', `${imp.reorderPct}%`);
  if (imp.corruptPct > 0) a.push('corrupt', `${imp.corruptPct}%`);
  return a;
}

/** Orders destinations: per-peer ones first, '*' last (its filter has the lower priority anyway). */
export function orderDestinations(dests: Destination[]): Destination[] {
  return [...dests.filter((d) => d.to !== ALL_PEERS), ...dests.filter((d) => d.to === ALL_PEERS)];
}

/**
 * The commands that build the tree on `dev`. On the userspace backend only destinations with a
 * rate get a class (the helper does the rest); if nothing needs tc, the list is empty.
 */
export function buildTcTree(dev: string, destinations: Destination[], backend: Backend): string[][] {
  const dests = orderDestinations(destinations).filter(
    (d) => d.impairment.rateBps !== undefined || (backend === 'netem' && needsPacketStage(d.impairment)),
  );
  if (dests.length === 0) return [];
  const cmds: string[][] = [
    ['tc', 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1'],
    ['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', UNLIMITED_RATE],
  ];
  dests.forEach((d, i) => {
    const minor = classMinor(i);
    const rate = d.impairment.rateBps !== undefined ? formatRate(d.impairment.rateBps) : UNLIMITED_RATE;
    cmds.push(['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', `1:${minor}`, 'htb', 'rate', rate, 'ceil', rate]);
    if (backend === 'netem' && needsPacketStage(d.impairment)) {
      cmds.push(['tc', 'qdisc', 'add', 'dev', dev, 'parent', `1:${minor}`, 'handle', `${minor}:`, 'netem', ...netemArgs(d.impairment)]);
    }
    const matches = d.to === ALL_PEERS ? ['0.0.0.0/0'] : d.addresses.map((a) => `${a}/32`);
    const prio = d.to === ALL_PEERS ? '2' : '1';
    for (const m of matches) {
      cmds.push(['tc', 'filter', 'add', 'dev', dev, 'parent', '1:', 'protocol', 'ip', 'prio', prio, 'u32', 'match', 'ip', 'dst', m, 'flowid', `1:${minor}`]);
    }
  });
  return cmds;
}

/** Removes the whole tree (filters and classes go with the root qdisc). Fails harmlessly if absent. */
export function teardownTc(dev: string): string[][] {
  return [['tc', 'qdisc', 'del', 'dev', dev, 'root']];
}

/** Read-back for `acklab conditions`: the qdiscs with their counters, as the kernel prints them. */
export function tcShow(dev: string): string[] {
  return ['tc', '-s', 'qdisc', 'show', 'dev', dev];
}
