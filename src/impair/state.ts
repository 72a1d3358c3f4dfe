/**
 * Reading what is in force back from the kernel: `iptables-save -c` (the rules, their comments
 * and counters), /proc/net/netfilter/nfnetlink_queue (which queues have a live listener) and
 * `ip -o link` (the devices a tree goes on). Pure parsers; the controller runs the commands.
 */
import type { Cut, EgressCondition } from '../conditions/index.js';
import { IMPAIR_CHAIN, PART_IN_CHAIN, PART_OUT_CHAIN, QUEUE_NOTE, effectiveSave } from './iptables.js';
import { decodeCutComment, decodeImpairComment } from './spec-comment.js';

export interface ImpairRecord extends EgressCondition {
  /** NFQUEUE number when the helper handles this destination. */
  queue?: number;
  /** Packets and bytes that matched the rule(s) so far. */
  packets: number;
  bytes: number;
}

export interface RulesState {
  impairChain: boolean;
  partOutChain: boolean;
  partInChain: boolean;
  impairments: ImpairRecord[];
  /** Cuts seen in this namespace, with the side the namespace is on. */
  cuts: (Cut & { side: 'from' | 'to'; packets: number })[];
}

export function parseIptablesSave(text: string, node: string): RulesState {
  const state: RulesState = { impairChain: false, partOutChain: false, partInChain: false, impairments: [], cuts: [] };
  for (const line of effectiveSave(text)) {
    if (line.startsWith(`:${IMPAIR_CHAIN} `)) state.impairChain = true;
    if (line.startsWith(`:${PART_OUT_CHAIN} `)) state.partOutChain = true;
    if (line.startsWith(`:${PART_IN_CHAIN} `)) state.partInChain = true;
    const rule = /^(?:\[(\d+):(\d+)\] )?-A (\S+) (.*)$/.exec(line);
    if (!rule) continue;
    const [, pk, by, chain, rest] = rule;
    const packets = Number(pk ?? 0);
    const bytes = Number(by ?? 0);
    const comment = /--comment "([^"]*)"|--comment (\S+)/.exec(rest!);
    const text = comment?.[1] ?? comment?.[2];
    if (!text) continue;
    if (chain === IMPAIR_CHAIN) {
      const queue = /--queue-num (\d+)/.exec(rest!);
      const note = new RegExp(`^${QUEUE_NOTE} to=(\\S+)$`).exec(text);
      if (note) {
        // The queue rule after a class rule: its destination's record was read first.
        const rec = state.impairments.find((r) => r.to === note[1]);
        if (rec && queue) rec.queue = Number(queue[1]);
        continue;
      }
      const spec = decodeImpairComment(text);
      if (!spec) continue;
      const existing = state.impairments.find((r) => r.to === spec.to);
      // A peer with several addresses has one rule per address: one record, summed counters.
      if (existing) {
        existing.packets += packets;
        existing.bytes += bytes;
        if (queue) existing.queue = Number(queue[1]);
        continue;
      }
      const rec: ImpairRecord = { node, to: spec.to, impairment: spec.impairment, packets, bytes };
      if (queue) rec.queue = Number(queue[1]);
      state.impairments.push(rec);
    } else if (chain === PART_OUT_CHAIN || chain === PART_IN_CHAIN) {
      const cut = decodeCutComment(text);
      if (!cut) continue;
      const side = chain === PART_OUT_CHAIN ? 'from' : 'to';
      const existing = state.cuts.find((c) => c.from === cut.from && c.to === cut.to && c.side === side);
      if (existing) existing.packets += /-j (DROP|REJECT)/.test(rest!) ? packets : 0;
      else state.cuts.push({ ...cut, side, packets: /-j (DROP|REJECT)/.test(rest!) ? packets : 0 });
    }
  }
  return state;
}

export interface QueueListener {
  queue: number;
  /** netlink port id of the listening process. */
  portId: number;
  /** Packets waiting in the kernel for a verdict. */
  waiting: number;
  /** Dropped by the kernel because the queue was full / the listener could not take them. */
  queueDropped: number;
  userDropped: number;
}

/** /proc/net/netfilter/nfnetlink_queue: queue_num portid queue_total copy_mode copy_range queue_dropped user_dropped id_sequence 1 */
export function parseNfqueueProc(text: string): Map<number, QueueListener> {
  const out = new Map<number, QueueListener>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f.length < 7 || f.some((x) => Number.isNaN(x))) continue;
    out.set(f[0]!, { queue: f[0]!, portId: f[1]!, waiting: f[2]!, queueDropped: f[5]!, userDropped: f[6]! });
  }
  return out;
}

/** `ip -o link show` → device names other than lo (eth0, eth1, …; "eth0@if12" → "eth0"). */
export function parseLinkDevices(text: string): string[] {
  const devs: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)[@:]/.exec(line);
    if (m && m[1] !== 'lo') devs.push(m[1]!);
  }
  return devs;
}

