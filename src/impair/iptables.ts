/**
 * iptables(8) builders, run inside a node's namespace.
 *
 * ```
 * mangle POSTROUTING ─► ACKLAB-IMPAIR                      (one rule per impaired destination address)
 *     -m mark --mark 0x4acc            → RETURN            (duplicates the helper re-sends itself)
 *     ! -o lo -d <peer>/32  [comment: acklab impair to=n2 delay=50ms …]
 *                                      → NFQUEUE --queue-num 100    (userspace backend, packet stage)
 *                                      → RETURN                     (netem backend / rate only: record + counters)
 *     ! -o lo               [comment: acklab impair to=* …]  → NFQUEUE/RETURN   ("all egress", last)
 *
 * filter OUTPUT ─► ACKLAB-PART-OUT     -d <to>/32   [comment: acklab cut n1->n2 drop] → DROP
 * filter INPUT  ─► ACKLAB-PART-IN      -s <from>/32 [comment: acklab cut n1->n2 drop] → DROP
 *     reset style: OUT first answers TCP with REJECT --reject-with tcp-reset; IN lets those RSTs in.
 * ```
 * The comment is the record of what is in force (see spec-comment.ts); mangle POSTROUTING sees
 * locally generated and forwarded packets after routing, so the out-device is known.
 * NFQUEUE is used WITHOUT --queue-bypass: a dead helper then drops the destination's traffic
 * (fail closed, visible as loss) instead of silently un-impairing it; `conditions` checks that
 * every queue in the rules has a listener in /proc/net/netfilter/nfnetlink_queue and reports it.
 */
import { ALL_PEERS, type Cut } from '../conditions/index.js';
import { encodeCutComment, encodeImpairComment } from './spec-comment.js';
import { type Destination, orderDestinations } from './tc.js';

export const IMPAIR_CHAIN = 'ACKLAB-IMPAIR';
export const PART_OUT_CHAIN = 'ACKLAB-PART-OUT';
export const PART_IN_CHAIN = 'ACKLAB-PART-IN';
/** fwmark the helper puts on duplicates it re-sends through a raw socket, so they are not queued again. */
export const HELPER_MARK = '0x4acc';
/** First NFQUEUE number; destination i uses FIRST_QUEUE + i (queue numbers are per namespace). */
export const FIRST_QUEUE = 100;

const ipt = (...args: string[]) => ['iptables', '-w', ...args];

export interface QueuedDestination extends Destination {
  /** NFQUEUE number when the helper handles this destination; undefined = no packet stage. */
  queue?: number;
}

/**
 * The mangle chain for a node's impairments. `useQueue` is true on the userspace backend: a
 * destination that needs a packet stage goes to its own NFQUEUE.
 */
export function buildImpairRules(destinations: QueuedDestination[]): string[][] {
  const cmds: string[][] = [
    ipt('-t', 'mangle', '-N', IMPAIR_CHAIN),
    ipt('-t', 'mangle', '-A', 'POSTROUTING', '-j', IMPAIR_CHAIN),
  ];
  const dests = orderDestinations(destinations) as QueuedDestination[];
  if (dests.some((d) => d.queue !== undefined)) {
    cmds.push(ipt('-t', 'mangle', '-A', IMPAIR_CHAIN, '-m', 'mark', '--mark', HELPER_MARK, '-j', 'RETURN'));
  }
  for (const d of dests) {
    const comment = ['-m', 'comment', '--comment', encodeImpairComment(d.to, d.impairment)];
    const target = d.queue !== undefined ? ['-j', 'NFQUEUE', '--queue-num', String(d.queue)] : ['-j', 'RETURN'];
    const matches = d.to === ALL_PEERS ? [[]] : d.addresses.map((a) => ['-d', `${a}/32`]);
    for (const m of matches) cmds.push(ipt('-t', 'mangle', '-A', IMPAIR_CHAIN, '!', '-o', 'lo', ...m, ...comment, ...target));
  }
  return cmds;
}

export function teardownImpairRules(): string[][] {
  return [
    ipt('-t', 'mangle', '-D', 'POSTROUTING', '-j', IMPAIR_CHAIN),
    ipt('-t', 'mangle', '-F', IMPAIR_CHAIN),
    ipt('-t', 'mangle', '-X', IMPAIR_CHAIN),
  ];
}

/** Creates the partition chains and hooks them first in OUTPUT and INPUT. */
export function partitionSetup(): string[][] {
  return [
    ipt('-N', PART_OUT_CHAIN),
    ipt('-N', PART_IN_CHAIN),
    ipt('-I', 'OUTPUT', '1', '-j', PART_OUT_CHAIN),
    ipt('-I', 'INPUT', '1', '-j', PART_IN_CHAIN),
  ];
}

export function partitionTeardown(): string[][] {
  return [
    ipt('-D', 'OUTPUT', '-j', PART_OUT_CHAIN),
    ipt('-D', 'INPUT', '-j', PART_IN_CHAIN),
    ipt('-F', PART_OUT_CHAIN),
    ipt('-F', PART_IN_CHAIN),
    ipt('-X', PART_OUT_CHAIN),
    ipt('-X', PART_IN_CHAIN),
  ];
}

/**
 * The rules for one cut on one side: on the sender (`side: 'from'`) they block packets to the
 * receiver's addresses; on the receiver (`side: 'to'`) packets from the sender's addresses — both,
 * so the cut holds even if one namespace's rules are changed. `op` is -A to add, -D to delete.
 */
export function cutRules(cut: Cut, side: 'from' | 'to', peerAddresses: string[], op: '-A' | '-D' = '-A'): string[][] {
  const comment = ['-m', 'comment', '--comment', encodeCutComment(cut)];
  const cmds: string[][] = [];
  for (const a of peerAddresses) {
    if (side === 'from') {
      const base = [op, PART_OUT_CHAIN, '-d', `${a}/32`];
      // Reset style: the local TCP socket gets a RST at once (iptables-extensions(8) REJECT).
      if (cut.style === 'reset') cmds.push(ipt(...base, '-p', 'tcp', ...comment, '-j', 'REJECT', '--reject-with', 'tcp-reset'));
      cmds.push(ipt(...base, ...comment, '-j', 'DROP'));
    } else {
      const base = [op, PART_IN_CHAIN, '-s', `${a}/32`];
      if (cut.style === 'reset') cmds.push(ipt(...base, '-p', 'tcp', '--tcp-flags', 'RST', 'RST', ...comment, '-j', 'RETURN'));
      cmds.push(ipt(...base, ...comment, '-j', 'DROP'));
    }
  }
  return cmds;
}

/** Read-back: the whole ruleset with counters, and the kernel's NFQUEUE listeners. */
export const IPTABLES_SAVE: readonly string[] = ['iptables-save', '-c'];
export const NFQUEUE_PROC: readonly string[] = ['cat', '/proc/net/netfilter/nfnetlink_queue'];
