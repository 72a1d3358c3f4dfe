/**
 * Metrics of one run, from what the programs wrote: their NDJSON events (src/programs/events.ts)
 * and their final summary event. Counts come from the events, so a program that crashed before
 * its summary still shows what it did — and is marked crashed, never reported as "0 acks, fine".
 */
import { quantileSorted } from 'simple-statistics';
import type { ProgramEvent } from '../programs/events.js';
import { checkOrder } from '../programs/mcast/check-order.js';
import type { DeliveredRecord } from '../programs/mcast/delivered.js';
import type {
  AckPoint,
  CdfPoint,
  DeliveryPoint,
  McastNodeMetrics,
  NodeStatus,
  OrderCheck,
  Percentiles,
  PeerClientMetrics,
  RttPoint,
  RunMetrics,
  RunSeries,
  RunStatus,
  UnackedUpdate,
  UndeliveredPoint,
} from './format.js';
import { RUN_FORMAT_VERSION } from './format.js';
import { accountedCheck, implStatus } from './grading.js';
import { peerPairs } from './pairs.js';
import { isMcastMember, memberInfo, nodeProgram } from './roles.js';
import { seedClientMetrics } from './seed.js';

export type TimedEvent = ProgramEvent & { ts: number };

/** What the collector gathered for one node. */
export interface CollectedNode {
  name: string;
  /** The argv the container ran (after the runner's additions). */
  command: string[];
  exitCode: number | null;
  events: TimedEvent[];
  /** mcast: the delivered file's records, when the program wrote one (else the `delivered` events are used). */
  delivered?: DeliveredRecord[];
  /** The topology kind (the seed's programs and mcast implementations are known by it). */
  kind?: string;
  /** The node's environment (an mcast implementation's ACKLAB_* variables). */
  env?: Record<string, string>;
  /** The program's stdout, for the seed's programs, which write no events. */
  stdout?: string;
  /** IPv4 address per network. */
  addresses?: Record<string, string>;
  /** The events of the program's earlier starts (a timeline that started the node again), oldest first. */
  earlierEvents?: TimedEvent[];
  /** The timeline's last process fault on the node ended it (kill or stop): no summary is no crash. */
  endedByTimeline?: boolean;
}

export interface ParsedEvents {
  events: TimedEvent[];
  /** Lines that were not event objects (kept out of the metrics, reported as problems). */
  badLines: number;
}

export function parseEvents(text: string): ParsedEvents {
  const events: TimedEvent[] = [];
  let badLines = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value = JSON.parse(line) as unknown;
      if (value && typeof value === 'object' && typeof (value as { event?: unknown }).event === 'string' && typeof (value as { ts?: unknown }).ts === 'number') {
        events.push(value as TimedEvent);
      } else badLines++;
    } catch {
      badLines++;
    }
  }
  return { events, badLines };
}

export function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: null, p95: null, p99: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    p50: r(quantileSorted(sorted, 0.5)),
    p95: r(quantileSorted(sorted, 0.95)),
    p99: r(quantileSorted(sorted, 0.99)),
    max: r(sorted[sorted.length - 1]!),
  };
}

export type ProgramRole = 'peer-client' | 'peer-server' | 'mcast' | 'echo' | 'other';

/** Which program a node ran, from its argv (the topology kind can be overridden by a workload). */
export function programRole(command: readonly string[]): ProgramRole {
  const bin = command.find((word) => /(^|\/)acklab-(peer|mcast|echo)$/.test(word));
  if (!bin) return 'other';
  if (bin.endsWith('acklab-mcast')) return 'mcast';
  if (bin.endsWith('acklab-echo')) return 'echo';
  const mode = command[command.indexOf(bin) + 1];
  return mode === 'server' ? 'peer-server' : 'peer-client';
}

function summaryOf(events: TimedEvent[]): Record<string, unknown> | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.event === 'summary') return e.summary;
  }
  return undefined;
}

function statusOf(node: CollectedNode, summary: Record<string, unknown> | undefined, complete: boolean): NodeStatus {
  if (summary) return complete && node.exitCode === 0 ? 'completed' : 'incomplete';
  if (node.exitCode === null) return 'running';
  return node.endedByTimeline ? 'killed' : 'crashed';
}

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

export function peerClientMetrics(node: CollectedNode): PeerClientMetrics {
  const events = node.events;
  const summary = summaryOf(events);
  const rtts: number[] = [];
  let sent = 0;
  let acks = 0;
  let made = 0;
  let lost = 0;
  for (const e of events) {
    if (e.event === 'update_sent') sent++;
    else if (e.event === 'ack_received') {
      acks++;
      rtts.push(e.rttMs);
    } else if (e.event === 'connected') made++;
  }
  if (summary) lost = num(summary.connectionsLost, 0);
  else {
    // without a summary, every disconnect the client did not ask for is a loss
    lost = events.filter((e) => e.event === 'disconnected' && !/closed by us|done|count|duration/i.test(e.reason)).length;
  }
  const updatesSent = summary ? num(summary.updatesSent, sent) : sent;
  const acksReceived = summary ? num(summary.acksReceived, acks) : acks;
  return {
    node: node.name,
    status: statusOf(node, summary, summary?.completed === true),
    exitCode: node.exitCode,
    reason: typeof summary?.reason === 'string' ? summary.reason : null,
    updatesSent,
    acksReceived,
    ackRatio: updatesSent > 0 ? round(acksReceived / updatesSent) : null,
    ackRttMs: percentiles(rtts),
    connectionsMade: summary ? num(summary.connectionsMade, made) : made,
    connectionsLost: lost,
  };
}

/** The value of `--flag VALUE` in an argv. */
export function flagValue(command: readonly string[], flag: string): string | undefined {
  const i = command.indexOf(flag);
  return i >= 0 ? command[i + 1] : undefined;
}

/** The order checker over every peer's sequence; a mere shortfall (agreeing prefixes) is ok but incomplete. */
export function orderCheck(sequences: { name: string; records: DeliveredRecord[] }[]): OrderCheck {
  const full = checkOrder(sequences);
  if (full.ok) return { ok: true, delivered: full.length, complete: true };
  const shortest = Math.min(...sequences.map((s) => s.records.length));
  const prefix = checkOrder(sequences.map((s) => ({ name: s.name, records: s.records.slice(0, shortest) })));
  if (prefix.ok && sequences.every((s) => checkOrder([s]).ok)) return { ok: true, delivered: shortest, complete: false };
  return { ok: false, firstDivergence: full.problems[0] ?? 'order check failed', problems: full.problems };
}

/** A node's delivered sequence: its delivered file when it wrote one, else its `delivered` events. */
export function deliveredOf(node: CollectedNode): DeliveredRecord[] {
  return node.delivered ?? node.events.flatMap((e) => (e.event === 'delivered' ? [{ lamport: e.lamport, sender: e.sender, seq: e.seq, deliveredAt: e.ts }] : []));
}

/** When each mcast message was multicast (epoch ms), by "sender:seq", from the senders' `mcast_sent`. */
function mcastSendTimes(nodes: CollectedNode[]): Map<string, number> {
  const sentAt = new Map<string, number>();
  for (const node of nodes) {
    const id = memberInfo(node).id;
    if (id === null) continue;
    for (const e of node.events) if (e.event === 'mcast_sent') sentAt.set(`${id}:${e.seq}`, e.ts);
  }
  return sentAt;
}

/** Every delivery of every mcast node with its latency (delivery − the sender's `mcast_sent`), the one place it is computed. */
export function mcastDeliveries(nodes: CollectedNode[]): DeliveryPoint[] {
  const sentAt = mcastSendTimes(nodes);
  return nodes.flatMap((node) =>
    deliveredOf(node).flatMap((d) => {
      const t = sentAt.get(`${d.sender}:${d.seq}`);
      return t === undefined ? [] : [{ node: node.name, ts: d.deliveredAt, sender: d.sender, seq: d.seq, sentTs: t, latencyMs: d.deliveredAt - t }];
    }),
  );
}

/** Every message a member multicast that another member (or itself) never delivered, by send time. */
export function mcastUndelivered(nodes: CollectedNode[]): UndeliveredPoint[] {
  const sentAt = mcastSendTimes(nodes);
  const out: UndeliveredPoint[] = [];
  for (const node of nodes) {
    const got = new Set(deliveredOf(node).map((d) => `${d.sender}:${d.seq}`));
    for (const [key, sentTs] of sentAt) {
      if (got.has(key)) continue;
      const [sender, seq] = key.split(':').map(Number) as [number, number];
      out.push({ node: node.name, sender, seq, sentTs });
    }
  }
  return out.sort((a, b) => a.sentTs - b.sentTs || a.node.localeCompare(b.node));
}

export function mcastMetrics(nodes: CollectedNode[]): NonNullable<RunMetrics['mcast']> {
  const ids = new Map<string, number | null>();
  for (const node of nodes) ids.set(node.name, memberInfo(node).id);
  const deliveries = mcastDeliveries(nodes);
  const sequences: { name: string; records: DeliveredRecord[] }[] = [];
  const perNode: McastNodeMetrics[] = nodes.map((node) => {
    const summary = summaryOf(node.events);
    let sent = 0;
    let acks = 0;
    for (const e of node.events) {
      if (e.event === 'mcast_sent') sent++;
      else if (e.event === 'mcast_ack') acks++;
    }
    const delivered = deliveredOf(node);
    const latencies = deliveries.filter((d) => d.node === node.name).map((d) => d.latencyMs);
    sequences.push({ name: node.name, records: delivered });
    const member = memberInfo(node);
    const expected = member.count !== null && member.members !== null ? member.count * member.members : delivered.length;
    const undeliveredFromSummary = summary ? summary.undelivered : undefined;
    const undelivered = typeof undeliveredFromSummary === 'number'
      ? undeliveredFromSummary
      : Array.isArray(undeliveredFromSummary)
        ? undeliveredFromSummary.length
        : Math.max(0, expected - delivered.length);
    return {
      node: node.name,
      id: ids.get(node.name) ?? null,
      // an implementation of the contract writes no summary: its exit status says how it ended
      status: nodeProgram(node) === 'mcast-impl' ? implStatus(node.exitCode) : statusOf(node, summary, typeof summary?.complete === 'boolean' ? summary.complete : undelivered === 0),
      exitCode: node.exitCode,
      sent: summary ? num(summary.sent, sent) : sent,
      delivered: delivered.length,
      undelivered,
      acksReceived: summary ? num(summary.acksReceived, acks) : acks,
      deliveryLatencyMs: percentiles(latencies),
      peersLost: node.events.flatMap((e) => (e.event === 'peer_lost' && typeof e.peer === 'number' ? [{ peer: e.peer, reason: String(e.reason ?? ''), ts: e.ts }] : [])),
    };
  });
  // each message is received by the other members − 1 … and each of them ACKs it to its members − 1 peers
  const members = nodes.length;
  const acksExpected = sum(perNode.map((n) => n.sent)) * (members - 1) ** 2;
  const acksReceived = sum(perNode.map((n) => n.acksReceived));
  return {
    nodes: perNode,
    sent: sum(perNode.map((n) => n.sent)),
    delivered: sum(perNode.map((n) => n.delivered)),
    undelivered: sum(perNode.map((n) => n.undelivered)),
    acksReceived,
    acksExpected,
    peersLost: sum(perNode.map((n) => n.peersLost.length)),
    ackRatio: acksExpected > 0 ? round(acksReceived / acksExpected) : null,
    deliveryLatencyMs: percentiles(deliveries.map((d) => d.latencyMs)),
    order: orderCheck(sequences),
    accounted: accountedCheck(nodes.map((n) => ({ ...n, delivered: deliveredOf(n) }))),
  };
}

export interface RunMetricsInput {
  condition: string;
  repetition: number;
  status: RunStatus;
  nodes: CollectedNode[];
  problems?: string[];
}

export function runMetrics(input: RunMetricsInput): RunMetrics {
  const byRole = (role: ProgramRole) => input.nodes.filter((n) => programRole(n.command) === role);
  const problems = [...(input.problems ?? [])];
  // the seed's clients are peer clients too, their acks counted as the seed counts them
  const clients = input.nodes.flatMap((n) => {
    const program = nodeProgram(n);
    return program === 'peer-client' ? [peerClientMetrics(n)] : program === 'twisted-client' ? [seedClientMetrics(n)] : [];
  });
  const mcastNodes = input.nodes.filter((n) => isMcastMember(nodeProgram(n)));
  const mcast = mcastNodes.length > 0 ? mcastMetrics(mcastNodes) : null;
  const servers = byRole('peer-server');
  const crashedNodes = [
    ...clients.filter((c) => c.status === 'crashed').map((c) => c.node),
    ...(mcast?.nodes.filter((n) => n.status === 'crashed').map((n) => n.node) ?? []),
    // a server has no summary until it is stopped; a server that exited non-zero without one crashed
    ...servers.filter((s) => s.exitCode !== null && s.exitCode !== 0 && !summaryOf(s.events)).map((s) => s.name),
  ];
  for (const node of crashedNodes) problems.push(crashProblem(input.nodes.find((n) => n.name === node)));
  const peer = clients.length === 0
    ? null
    : (() => {
        const updatesSent = sum(clients.map((c) => c.updatesSent));
        const acksReceived = sum(clients.map((c) => c.acksReceived));
        const rtts = ackRoundTrips(byRole('peer-client')).map((r) => r.rttMs);
        return {
          clients,
          updatesSent,
          acksReceived,
          ackRatio: updatesSent > 0 ? round(acksReceived / updatesSent) : null,
          ackRttMs: percentiles(rtts),
          connectionsLost: sum(clients.map((c) => c.connectionsLost)),
        };
      })();
  return {
    formatVersion: RUN_FORMAT_VERSION,
    condition: input.condition,
    repetition: input.repetition,
    status: input.status,
    crashed: crashedNodes.length > 0,
    problems,
    peer,
    mcast,
    pairs: peerPairs(input.nodes.map((n) => ({ ...n, program: nodeProgram(n) }))),
  };
}

/** Why a node counts as crashed, and where to look. */
function crashProblem(node: CollectedNode | undefined): string {
  if (!node) return 'a node crashed';
  const program = nodeProgram(node);
  if (program === 'mcast-impl') return `${node.name} was killed (exit ${node.exitCode}): it did not exit on SIGTERM, or crashed; see nodes/${node.name}/stdout.log`;
  if (program === 'twisted-client') return `${node.name} crashed (no "Received N acks"); see nodes/${node.name}/stdout.log`;
  return `${node.name} crashed (no summary); see nodes/${node.name}/stderr.log`;
}

/** Every ack round trip of the peer clients, as it arrived, with the send time of the update it acks. */
export function ackRoundTrips(clients: CollectedNode[]): RttPoint[] {
  return clients.flatMap((n) => {
    const sentAt = new Map<string, number>();
    for (const e of n.events) if (e.event === 'update_sent') sentAt.set(`${e.conn}:${e.seq}`, e.ts);
    return n.events.flatMap((e) =>
      e.event === 'ack_received' ? [{ node: n.name, conn: e.conn, seq: e.seq, sentTs: sentAt.get(`${e.conn}:${e.seq}`) ?? e.ts - e.rttMs, ts: e.ts, rttMs: e.rttMs }] : [],
    );
  });
}

/** Updates the peer clients sent and never got an ack for (acks match updates by connection and number). */
export function unackedUpdates(clients: CollectedNode[]): UnackedUpdate[] {
  return clients.flatMap((n) => {
    const acked = new Set(n.events.flatMap((e) => (e.event === 'ack_received' ? [`${e.conn}:${e.seq}`] : [])));
    return n.events.flatMap((e) => (e.event === 'update_sent' && !acked.has(`${e.conn}:${e.seq}`) ? [{ node: n.name, conn: e.conn, seq: e.seq, sentTs: e.ts }] : []));
  });
}

/**
 * The empirical CDF of `values`: one step per distinct value, `fraction` of the values ≤ it. Long
 * inputs are thinned to about `maxPoints` steps (evenly in rank, always keeping the last).
 */
export function ecdf(values: readonly number[], maxPoints = 400): CdfPoint[] {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const steps: CdfPoint[] = [];
  for (let i = 0; i < n; i++) {
    if (i + 1 < n && sorted[i + 1] === sorted[i]) continue;
    steps.push({ value: sorted[i]!, fraction: round((i + 1) / n) });
  }
  if (steps.length <= maxPoints) return steps;
  const keep = new Set(Array.from({ length: maxPoints }, (_, k) => Math.round((k * (steps.length - 1)) / (maxPoints - 1))));
  return steps.filter((_, i) => keep.has(i));
}

/** Acks as they arrived: peer clients' `ack_received`, mcast nodes' `mcast_ack`. */
export function ackArrivals(nodes: CollectedNode[]): AckPoint[] {
  const points: AckPoint[] = [];
  for (const n of nodes) {
    const role = programRole(n.command);
    const member = isMcastMember(nodeProgram(n));
    for (const e of n.events) {
      if (role === 'peer-client' && e.event === 'ack_received') points.push({ series: 'peer acks', node: n.name, ts: e.ts });
      else if (member && e.event === 'mcast_ack') points.push({ series: 'mcast acks', node: n.name, ts: e.ts });
    }
  }
  return points.sort((a, b) => a.ts - b.ts);
}

/** The per-item series the report draws, computed here and nowhere else. */
export function runSeries(nodes: CollectedNode[]): RunSeries {
  const clients = nodes.filter((n) => programRole(n.command) === 'peer-client');
  const mcast = nodes.filter((n) => isMcastMember(nodeProgram(n)));
  return {
    rtts: ackRoundTrips(clients),
    unacked: unackedUpdates(clients),
    deliveries: mcastDeliveries(mcast),
    undelivered: mcastUndelivered(mcast),
    acks: ackArrivals(nodes),
  };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
