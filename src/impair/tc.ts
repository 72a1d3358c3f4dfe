/**
 * tc(8) builders: the per-device qdisc tree that impairs traffic per destination.
 *
 * ```
 * dev eth0
 * root 1: htb default 1                   every packet no rule classifies → 1:1
 *  ├─ 1:1    htb rate 10gbit               unimpaired default class (other peers stay untouched)
 *  ├─ 1:10   htb rate <rate|10gbit>        one class per stage: a (destination, impairment) in use
 *  │   └─ 10: netem delay … loss …         (netem backend only; the userspace helper does this part)
 *  └─ 1:11   htb rate …                    another stage (say, the next step of a timeline)
 *      └─ 11: netem …
 * ```
 * No tc filters: a packet's class is chosen by its rule in the node's ACKLAB-IMPAIR chain
 * (`-j CLASSIFY --set-class 1:<minor>`, iptables-extensions(8)), which htb honours before any
 * filter (skb->priority naming one of its classes, tc-htb(8) "CLASSIFICATION"). So the classes of
 * every stage a timeline will need are built ahead, and a step switches traffic between them
 * with the one iptables-restore batch that also switches cuts — all at once.
 * htb, not prio: prio's priomap sends unmatched packets to band 1, so an impairment leaks onto
 * other peers; an htb default class keeps them untouched. Rate is the class's rate = ceil.
 */
import { formatRate } from '../common/index.js';
import { needsPacketStage, type Impairment } from '../conditions/index.js';
import type { Backend } from './model.js';

/** Unimpaired classes get this rate: far above what a veth carries in a lab, so never the bottleneck. */
export const UNLIMITED_RATE = '10gbit';
/** Stage classes are 1:10 … 1:fff (hex minors, as tc writes them). */
export const FIRST_CLASS_MINOR = 0x10;
export const LAST_CLASS_MINOR = 0xfff;

/** The class id a CLASSIFY rule names: `1:1a`. */
export const classId = (minor: number) => `1:${minor.toString(16)}`;

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

/** Whether a stage needs a tc class on this backend: a rate, or (netem) a packet stage. */
export function needsClass(imp: Impairment, backend: Backend): boolean {
  return imp.rateBps !== undefined || (backend === 'netem' && needsPacketStage(imp));
}

/** The root and its default class, made once before the first stage class. */
export function tcRoot(dev: string): string[][] {
  return [
    ['tc', 'qdisc', 'add', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '1'],
    ['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', UNLIMITED_RATE],
  ];
}

/** One stage's class (and its netem leaf on the netem backend). */
export function tcStageClass(dev: string, minor: number, imp: Impairment, backend: Backend): string[][] {
  const rate = imp.rateBps !== undefined ? formatRate(imp.rateBps) : UNLIMITED_RATE;
  const cmds = [['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', classId(minor), 'htb', 'rate', rate, 'ceil', rate]];
  if (backend === 'netem' && needsPacketStage(imp)) {
    cmds.push(['tc', 'qdisc', 'add', 'dev', dev, 'parent', classId(minor), 'handle', `${minor.toString(16)}:`, 'netem', ...netemArgs(imp)]);
  }
  return cmds;
}

/** Removes a stage's class (its leaf qdisc goes with it). */
export function tcStageClassDelete(dev: string, minor: number): string[][] {
  return [['tc', 'class', 'del', 'dev', dev, 'classid', classId(minor)]];
}

/** Removes the whole tree (classes and leaves go with the root). Fails harmlessly if absent. */
export function tcTeardown(dev: string): string[][] {
  return [['tc', 'qdisc', 'del', 'dev', dev, 'root']];
}

/** Read-back for `acklab conditions`: the qdiscs with their counters, as the kernel prints them. */
export function tcShow(dev: string): string[] {
  return ['tc', '-s', 'qdisc', 'show', 'dev', dev];
}

/** Read-back for the agent's check that the tree is still there: the classes of a device. */
export function tcClassShow(dev: string): string[] {
  return ['tc', 'class', 'show', 'dev', dev];
}
