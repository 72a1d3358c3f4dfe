/**
 * Peer pairs: each client with the server it talked to, both sides' counts side by side, whichever
 * program ran each side (acklab's, or the seed's Twisted one), and why the counts differ — computed
 * from what happened, one line per difference:
 *
 *   updates sent ──▶ updates the server got ──▶ <Ack>s it sent ──▶ <Ack>s the client got ──▶ acks it counted
 *        (transport: in flight / cut off)   (seed server: one per read)  (transport)   (seed client: every read)
 *
 * The seed's two counting quirks are visible in its output: fewer `Server received` lines than
 * <update>s (TCP put two or more in one read, and it acks each read once), and `Client received`
 * lines counted as acks (the greeting is one; a read holding two <Ack>s is one).
 */
import type { PeerClientMetrics, PeerPairMetrics, PeerProgram, SweepRun, Verdict } from './format.js';
import { clientTarget, type NodeProgram } from './roles.js';
import { parseSeedClient, parseSeedServer } from './seed.js';

/** What pairing needs of a collected node. */
export interface PairNode {
  name: string;
  program: NodeProgram;
  command: readonly string[];
  exitCode: number | null;
  events: readonly { event: string; [field: string]: unknown }[];
  /** Events of the program's earlier starts (a server the timeline restarted counts over all of them). */
  earlierEvents?: readonly { event: string; [field: string]: unknown }[];
  stdout?: string;
  /** IPv4 address per network: an acklab server's events name each client by address. */
  addresses?: Record<string, string>;
}

const CLIENTS: readonly NodeProgram[] = ['peer-client', 'twisted-client'];
const SERVERS: readonly NodeProgram[] = ['peer-server', 'twisted-server'];
const programOf = (p: NodeProgram): PeerProgram => (p.startsWith('twisted') ? 'twisted' : 'acklab');
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `10.1.2.3:4567`, `[::ffff:10.1.2.3]:4567` → `10.1.2.3`. */
function hostOf(address: string): string {
  const host = address.includes(':') ? address.slice(0, address.lastIndexOf(':')) : address;
  return host.replace(/^\[|\]$/g, '').replace(/^::ffff:/i, '');
}

interface ClientSide {
  updatesSent: number;
  acksReceived: number | null;
  acksCounted: number;
  reads: number | null;
  greetings: number;
  coalescedReads: number;
}

function clientSide(node: PairNode): ClientSide {
  if (node.program === 'twisted-client') {
    const out = parseSeedClient(node.stdout ?? '');
    return { updatesSent: out.updatesSent, acksReceived: out.acks, acksCounted: out.reported ?? out.reads, reads: out.reads, greetings: out.greetings, coalescedReads: out.coalescedReads };
  }
  const summary = [...node.events].reverse().find((e) => e.event === 'summary')?.summary as Record<string, unknown> | undefined;
  const count = (name: string) => node.events.filter((e) => e.event === name).length;
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  const acks = count('ack_received');
  return {
    updatesSent: num(summary?.updatesSent, count('update_sent')),
    acksReceived: acks + count('unmatched_ack'),
    acksCounted: num(summary?.acksReceived, acks),
    reads: null,
    greetings: 0,
    coalescedReads: 0,
  };
}

interface ServerSide {
  updatesReceived: number | null;
  reads: number | null;
  acksSent: number | null;
  coalescedReads: number;
  /** Connections the counts are over (the seed's server cannot tell its clients apart). */
  connections: number;
}

function serverSide(server: PairNode, client: PairNode): ServerSide {
  if (server.program === 'twisted-server') {
    const out = parseSeedServer(server.stdout ?? '');
    return { updatesReceived: out.updates, reads: out.reads, acksSent: out.acksSent, coalescedReads: out.coalescedReads, connections: out.connections };
  }
  const ips = new Set(Object.values(client.addresses ?? {}));
  const mine = (e: { peer?: unknown }) => ips.size === 0 || (typeof e.peer === 'string' && ips.has(hostOf(e.peer)));
  const events = [...(server.earlierEvents ?? []), ...server.events].filter((e) => mine(e as { peer?: unknown }));
  return {
    updatesReceived: events.filter((e) => e.event === 'update_received').length,
    reads: null,
    acksSent: events.filter((e) => e.event === 'ack_sent').length,
    coalescedReads: 0,
    connections: 1,
  };
}

/** The pair's counts and, per difference, one line saying why. */
export function pairMetrics(client: PairNode, server: PairNode): PeerPairMetrics {
  const c = clientSide(client);
  const s = serverSide(server, client);
  const seedServer = server.program === 'twisted-server';
  const seedClient = client.program === 'twisted-client';
  const lines: string[] = [];
  let transport = 0;
  let quirks = 0;

  if (s.updatesReceived !== null) {
    const missing = c.updatesSent - s.updatesReceived;
    if (missing > 0) {
      transport += missing;
      lines.push(`${plural(missing, '<update>')} never reached the server: still in flight, or cut off, when the client stopped`);
    }
  }
  if (seedServer && s.updatesReceived !== null && s.acksSent !== null && s.updatesReceived > s.acksSent) {
    const fewer = s.updatesReceived - s.acksSent;
    quirks += fewer;
    lines.push(
      `the Twisted server sent ${plural(s.acksSent, '<Ack>')} for ${plural(s.updatesReceived, '<update>')}: one per read, and TCP put 2+ <update>s in ${plural(s.coalescedReads, 'read')} (${fewer} fewer acks)`,
    );
  }
  if (s.acksSent !== null && c.acksReceived !== null && s.acksSent > c.acksReceived) {
    const lost = s.acksSent - c.acksReceived;
    transport += lost;
    lines.push(`${plural(lost, '<Ack>')} the server sent never reached the client: in flight, or cut off, when it stopped`);
  }
  if (seedClient && c.acksReceived !== null && c.reads !== null) {
    if (c.greetings > 0) lines.push(`the Twisted client counts the <connection up> greeting as an ack (+${c.greetings})`);
    const merged = c.greetings + c.acksReceived - c.reads;
    if (merged > 0) lines.push(`the Twisted client counts reads, not <Ack>s: ${plural(c.coalescedReads, 'read')} held 2+ tokens (−${merged})`);
    else if (merged < 0) lines.push(`the Twisted client counts reads, not <Ack>s: ${plural(-merged, 'read')} held part of a token (+${-merged})`);
    if (c.acksCounted !== c.reads) lines.push(`the Twisted client reported ${c.acksCounted} acks for ${plural(c.reads, 'read')}`);
    quirks += c.acksReceived - c.acksCounted;
  }
  if (server.program === 'twisted-server' && s.connections > 1) {
    lines.push(`the server's counts are over its ${s.connections} connections (the seed's output does not tell its clients apart)`);
  }
  const total = c.updatesSent - c.acksCounted;
  if (lines.length === 0) lines.push(total === 0 ? 'counts match: every <update> got its own <Ack>, counted once' : `${total} of ${c.updatesSent} updates not acked`);
  return {
    client: client.name,
    server: server.name,
    clientProgram: programOf(client.program),
    serverProgram: programOf(server.program),
    updatesSent: c.updatesSent,
    updatesReceived: s.updatesReceived,
    serverReads: s.reads,
    acksSent: s.acksSent,
    acksReceived: c.acksReceived,
    acksCounted: c.acksCounted,
    clientReads: c.reads,
    greetingCounted: seedClient && c.greetings > 0,
    shortfall: { total, quirks, transport },
    explanations: lines,
  };
}

/** Every peer client of a run with the server its argv names, when that server is a node of the run. */
export function peerPairs(nodes: readonly PairNode[]): PeerPairMetrics[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return nodes.flatMap((client) => {
    if (!CLIENTS.includes(client.program)) return [];
    const server = byName.get(clientTarget(client.command) ?? '');
    return server && SERVERS.includes(server.program) ? [pairMetrics(client, server)] : [];
  });
}

/** One line: `twisted → acklab` (client → server). */
export function pairLabel(pair: Pick<PeerPairMetrics, 'clientProgram' | 'serverProgram'>): string {
  return `${pair.clientProgram} → ${pair.serverProgram}`;
}

/**
 * The `acks` check of one client: its updates minus the acks it counted, accounted for — by the
 * seed's counting quirks (always: they are the reference's behaviour, shown, not fixed), by what the
 * transport still held when the seed's client was stopped (it closes at once; acklab's waits for its
 * acks), by the run's faults, or by a lost connection. Anything else fails.
 */
export function clientAcksVerdict(
  client: PeerClientMetrics,
  pair: PeerPairMetrics | undefined,
  faults: readonly string[],
): { verdict: Verdict; missing: number; accountedBy: string[] } {
  const missing = client.updatesSent - client.acksReceived;
  const lossReason = client.reason && /lost|could not connect/.test(client.reason) ? [`${client.node}: ${client.reason}`] : [];
  if (!pair) {
    if (missing <= 0) return { verdict: 'pass', missing, accountedBy: [] };
    const by = [...faults, ...lossReason];
    return { verdict: by.length > 0 ? 'pass' : 'fail', missing, accountedBy: by };
  }
  const { quirks, transport } = pair.shortfall;
  const by: string[] = [];
  if (quirks !== 0) by.push(`the seed's counting (${pairLabel(pair)}: ${quirks > 0 ? `${quirks} fewer` : `${-quirks} more`})`);
  if (transport > 0) {
    if (faults.length > 0 || lossReason.length > 0) by.push(...faults, ...lossReason);
    else if (pair.clientProgram === 'twisted' && client.status !== 'crashed') by.push(`${transport} in flight when the seed's client was stopped (it closes at once)`);
    else return { verdict: 'fail', missing: transport, accountedBy: [] };
  }
  return { verdict: 'pass', missing, accountedBy: by };
}

/** A row of the pairs table: one pair in one run. */
export interface PairRow {
  condition: string;
  repetition: number;
  pair: PeerPairMetrics;
}

/** Every pair of every run that has them, condition by condition (the report's "peer pairs" table). */
export function pairRows(runs: readonly SweepRun[]): PairRow[] {
  return runs.flatMap((r) => (r.metrics?.pairs ?? []).map((pair) => ({ condition: r.condition, repetition: r.repetition, pair })));
}
