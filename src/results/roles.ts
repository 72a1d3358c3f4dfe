/**
 * Which program a node of a run ran — acklab's (from its argv: a workload may replace the topology's
 * command), the seed's Twisted peer (from its kind), or an mcast implementation of the grading
 * contract (its kind) — and, for multicast members, its id, count and group size.
 */

export type NodeProgram = 'peer-client' | 'peer-server' | 'mcast' | 'echo' | 'twisted-client' | 'twisted-server' | 'mcast-impl' | 'other';

const ACKLAB_BIN = /(^|\/)acklab-(peer|mcast|echo)$/;

export function nodeProgram(node: { kind?: string; command: readonly string[] }): NodeProgram {
  const bin = node.command.find((word) => ACKLAB_BIN.test(word));
  if (bin) {
    if (bin.endsWith('acklab-mcast')) return 'mcast';
    if (bin.endsWith('acklab-echo')) return 'echo';
    return node.command[node.command.indexOf(bin) + 1] === 'server' ? 'peer-server' : 'peer-client';
  }
  if (node.kind === 'twisted-peer-client') return 'twisted-client';
  if (node.kind === 'twisted-peer-server') return 'twisted-server';
  if (node.kind === 'mcast-impl') return 'mcast-impl';
  return 'other';
}

/** Members of a multicast group: acklab's mcast and mcast-impl nodes. */
export const isMcastMember = (program: NodeProgram): boolean => program === 'mcast' || program === 'mcast-impl';

/** A multicast member's id, count and group size: acklab-mcast's flags, or the contract's ACKLAB_* variables. */
export interface MemberInfo {
  id: number | null;
  count: number | null;
  /** Members of the group, this one included. */
  members: number | null;
}

export function memberInfo(node: { command: readonly string[]; env?: Record<string, string> }): MemberInfo {
  const flag = (name: string) => {
    const i = node.command.indexOf(name);
    return i >= 0 ? node.command[i + 1] : undefined;
  };
  const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  const peers = flag('--peers') ?? node.env?.ACKLAB_PEERS;
  return {
    id: int(flag('--id') ?? node.env?.ACKLAB_ID),
    count: int(flag('--count') ?? node.env?.ACKLAB_COUNT),
    members: peers === undefined ? null : peers.split(',').filter((p) => p.trim() !== '').length + 1,
  };
}

/** Where a peer client connects: the node name of its server, from its argv (`… client HOST:PORT`). */
export function clientTarget(command: readonly string[]): string | undefined {
  const i = command.indexOf('client');
  const address = i >= 0 ? command[i + 1] : undefined;
  if (address === undefined) return undefined;
  return address.includes(':') ? address.slice(0, address.lastIndexOf(':')) : '127.0.0.1';
}
