/**
 * One multicast-ACK peer: once the mesh is complete, multicast --count messages every --interval,
 * ack every message received (to everyone), and deliver in total order (see total-order.ts).
 * It stops when all count × peers messages are delivered; or, with what it has, on --duration, on a
 * signal, or when a peer is lost and nothing has arrived for --grace — a dead peer's acks will never
 * come, so waiting longer would only hang. A peer is lost when its link closes without a bye, or when
 * it has been silent for --grace (every peer pings while it has nothing else to say, so a frozen or
 * cut-off peer is noticed too); a silent peer that speaks again is back.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EventSink, HumanOutput } from '../events.js';
import { onStopSignal, type HostPort } from '../options.js';
import { Timers } from '../timers.js';
import { formatDeliveredRecord } from './delivered.js';
import { Mesh, MeshError, type Link } from './mesh.js';
import type { WireMessage } from './protocol.js';
import { LamportClock, TotalOrderQueue, formatMessage } from './total-order.js';

export interface McastOptions {
  id: number;
  listen: HostPort;
  peers: ReadonlyMap<number, HostPort>;
  count: number;
  intervalMs: number;
  connectTimeoutMs: number;
  durationMs?: number;
  graceMs: number;
  out?: string;
  events: EventSink;
  human: HumanOutput;
  /** Wall clock for deliveredAt (injectable for tests). */
  now?: () => number;
}

export interface McastSummary {
  id: number;
  complete: boolean;
  reason: string;
  members: number[];
  count: number;
  sent: number;
  received: number;
  acksSent: number;
  acksReceived: number;
  delivered: number;
  expected: number;
  undelivered: number;
  /** Received but not delivered, with why (capped at 50 entries). */
  undeliveredMessages: { lamport: number; sender: number; seq: number; why: string }[];
  /** Messages never received, per sender, as seq ranges ("4-10"). */
  notReceived: Record<string, string>;
  peersLost: { peer: number; reason: string }[];
  peersLeft: number[];
  rejectedLines: number;
}

export const EXIT_INCOMPLETE = 3;

export async function runMcastPeer(opts: McastOptions): Promise<number> {
  const now = opts.now ?? Date.now;
  const { human, events } = opts;
  const members = [opts.id, ...opts.peers.keys()].sort((a, b) => a - b);
  const expected = opts.count * members.length;
  const clock = new LamportClock();
  const queue = new TotalOrderQueue(members);
  const receivedFrom = new Map<number, Set<number>>(members.map((m) => [m, new Set<number>()]));
  const lost = new Map<number, string>();
  const left = new Set<number>();
  const stats = { sent: 0, received: 0, acksSent: 0, acksReceived: 0, rejected: 0 };
  let delivered = 0;
  let stopping = false;
  let finishReason: string | undefined;
  let finishResolve!: (reason: string) => void;
  const finished = new Promise<string>((resolve) => (finishResolve = resolve));
  const timers = new Timers();
  let graceTimer: NodeJS.Timeout | undefined;
  /** When each peer was last heard from (any line, pings included). */
  const lastHeard = new Map<number, number>();
  /** Peers lost by silence (they may come back), as opposed to closed links. */
  const silent = new Set<number>();
  let watchdog: NodeJS.Timeout | undefined;

  let outFd: number | undefined;
  if (opts.out !== undefined) {
    try {
      outFd = openSync(opts.out, 'w');
    } catch (err) {
      throw new Error(`cannot open delivered file ${opts.out}: ${(err as Error).message}`, { cause: err });
    }
  }

  const finish = (reason: string) => {
    if (finishReason !== undefined) return;
    finishReason = reason;
    stopping = true;
    if (reason.startsWith('--duration')) human.line(`Stopping: ${reason}`);
    finishResolve(reason);
  };
  const later = (ms: number, fn: () => void) => timers.later(ms, fn);
  const armGrace = () => {
    if (lost.size === 0 || finishReason !== undefined) return;
    if (graceTimer) clearTimeout(graceTimer);
    graceTimer = later(opts.graceMs, () =>
      finish(`peer(s) ${[...lost.keys()].join(', ')} lost; nothing received for ${opts.graceMs} ms (--grace), stopping with what was delivered`),
    );
  };

  const reject = (link: Link, why: string) => {
    stats.rejected++;
    human.line(`Rejected line from peer ${link.peer}: ${why}`);
    events.emit({ event: 'rejected_line', peer: String(link.peer), reason: why });
  };

  const deliver = () => {
    for (const m of queue.takeDeliverable()) {
      delivered++;
      const record = { lamport: m.ts, sender: m.sender, seq: m.seq, deliveredAt: now() };
      if (outFd !== undefined) writeSync(outFd, formatDeliveredRecord(record));
      human.line(`Delivered ${formatMessage(m)} #${delivered}`);
      events.emit({ event: 'delivered', lamport: m.ts, sender: m.sender, seq: m.seq, position: delivered });
    }
    if (delivered === expected) finish(`all ${expected} messages delivered`);
  };

  const onMessage = (link: Link, msg: WireMessage) => {
    if (msg.type === 'msg') {
      if (msg.sender !== link.peer) return reject(link, `msg claims sender ${msg.sender} on the link of peer ${link.peer}`);
      if (msg.seq > opts.count) return reject(link, `msg seq ${msg.seq} is beyond --count ${opts.count}`);
      const received = clock.receive(msg.ts);
      const added = queue.add(msg);
      if (added !== 'added') return reject(link, `${added} message ${formatMessage(msg)}`);
      stats.received++;
      receivedFrom.get(msg.sender)!.add(msg.seq);
      events.emit({ event: 'mcast_received', lamport: msg.ts, sender: msg.sender, seq: msg.seq, clock: received });
      // Every receiver multicasts its ack; the ack's timestamp is after the receive event, so > msg.ts.
      const ts = clock.tick();
      // Logged before the write, like every send.
      events.emit({ event: 'mcast_ack_sent', sender: msg.sender, seq: msg.seq, lamport: ts });
      mesh.broadcast({ type: 'ack', ts, from: opts.id, sender: msg.sender, seq: msg.seq });
      queue.ack(opts.id, msg.sender, msg.seq);
      stats.acksSent++;
      deliver();
    } else if (msg.type === 'ack') {
      if (msg.from !== link.peer) return reject(link, `ack claims to be from ${msg.from} on the link of peer ${link.peer}`);
      if (!members.includes(msg.sender) || msg.seq > opts.count) return reject(link, `ack of unknown message (sender=${msg.sender}, seq=${msg.seq})`);
      const received = clock.receive(msg.ts);
      if (!queue.ack(msg.from, msg.sender, msg.seq)) return reject(link, `duplicate ack from ${msg.from} of (sender=${msg.sender}, seq=${msg.seq})`);
      stats.acksReceived++;
      events.emit({ event: 'mcast_ack', from: msg.from, sender: msg.sender, seq: msg.seq, lamport: msg.ts, clock: received });
      deliver();
    } else if (msg.type === 'bye') {
      if (msg.id !== link.peer) return reject(link, `bye for id ${msg.id} on the link of peer ${link.peer}`);
      link.left = true;
      left.add(link.peer);
      human.line(`Peer ${link.peer} left (bye)`);
      events.emit({ event: 'peer_left', peer: link.peer });
    }
  };

  const onActivity = (peer: number | undefined, type: string | undefined) => {
    if (peer !== undefined) {
      lastHeard.set(peer, Date.now());
      if (silent.delete(peer) && finishReason === undefined) {
        lost.delete(peer);
        human.line(`Peer ${peer} is back`);
        events.emit({ event: 'peer_back', peer, silentMs: opts.graceMs });
        if (lost.size === 0 && graceTimer) clearTimeout(graceTimer);
      }
    }
    // Quiescence counts what the protocol says, not the pings that only say "alive".
    if (type !== 'ping') armGrace();
  };
  const suspectSilent = () => {
    const nowMs = Date.now();
    for (const [peer, at] of lastHeard) {
      if (lost.has(peer) || left.has(peer) || nowMs - at <= opts.graceMs) continue;
      const reason = `silent for ${nowMs - at} ms (--grace ${opts.graceMs} ms): frozen, crashed or cut off`;
      silent.add(peer);
      lost.set(peer, reason);
      human.line(`Lost peer ${peer}: ${reason}`);
      events.emit({ event: 'peer_lost', peer, reason });
      armGrace();
    }
  };
  const heartbeatMs = Math.max(50, Math.min(1000, Math.floor(opts.graceMs / 4)));

  const mesh = new Mesh({
    id: opts.id,
    listen: opts.listen,
    peers: opts.peers,
    count: opts.count,
    connectTimeoutMs: opts.connectTimeoutMs,
    heartbeatMs,
    events,
    out: human,
    handlers: {
      onMessage,
      onActivity,
      onClose(link, reason) {
        if (link.left || finishReason !== undefined) return;
        silent.delete(link.peer);
        lost.set(link.peer, reason);
        human.line(`Lost peer ${link.peer}: ${reason}`);
        events.emit({ event: 'peer_lost', peer: link.peer, reason });
        armGrace();
      },
    },
  });

  const disposeSignals = onStopSignal((signal) => {
    human.line(`Stopping on ${signal}`);
    finish(`stopped by ${signal}`);
  });
  if (opts.durationMs !== undefined) later(opts.durationMs, () => finish(`--duration ${opts.durationMs} ms elapsed`));

  let exitCode: number;
  try {
    const meshUp = mesh.start().then(() => 'up' as const);
    const first = await Promise.race([meshUp, finished]);
    if (first === 'up') {
      for (const peer of opts.peers.keys()) lastHeard.set(peer, Date.now());
      watchdog = setInterval(suspectSilent, heartbeatMs);
      const multicast = () => {
        if (stopping || stats.sent >= opts.count) return;
        // While a peer is lost its acks cannot come: hold back (a silent peer may come back).
        if (lost.size > 0) return void later(opts.intervalMs, multicast);
        const ts = clock.tick();
        const seq = ++stats.sent;
        queue.add({ ts, sender: opts.id, seq });
        receivedFrom.get(opts.id)!.add(seq);
        // Log before sending, so no receiver's event can carry an earlier wall-clock time than the send.
        human.line(`Multicast ${formatMessage({ ts, sender: opts.id, seq })}`);
        events.emit({ event: 'mcast_sent', lamport: ts, seq });
        mesh.broadcast({ type: 'msg', ts, sender: opts.id, seq });
        deliver(); // a one-member group delivers its own message at once
        if (stats.sent < opts.count) later(opts.intervalMs, multicast);
      };
      multicast();
      if (expected === 0) finish('nothing to deliver (--count 0)');
      await finished;
    }
    exitCode = delivered === expected ? 0 : EXIT_INCOMPLETE;
  } catch (err) {
    if (!(err instanceof MeshError)) throw err;
    human.line(`Error: ${err.message}`);
    finish(err.message);
    exitCode = 1;
  } finally {
    timers.clearAll();
    clearInterval(watchdog);
    if (graceTimer) clearTimeout(graceTimer);
    await mesh.close({ bye: delivered === expected });
    if (outFd !== undefined) closeSync(outFd);
  }

  const pending = queue.pending();
  const notReceived: Record<string, string> = {};
  for (const m of members) {
    const missing: number[] = [];
    for (let s = 1; s <= opts.count; s++) if (!receivedFrom.get(m)!.has(s)) missing.push(s);
    if (missing.length) notReceived[String(m)] = toRanges(missing);
  }
  const summary: McastSummary = {
    id: opts.id,
    complete: delivered === expected,
    reason: finishReason ?? 'unknown',
    members,
    count: opts.count,
    sent: stats.sent,
    received: stats.received,
    acksSent: stats.acksSent,
    acksReceived: stats.acksReceived,
    delivered,
    expected,
    undelivered: expected - delivered,
    undeliveredMessages: pending.slice(0, 50).map((p) => ({ lamport: p.ts, sender: p.sender, seq: p.seq, why: whyUndelivered(p.why, p.missingAcks, lost) })),
    notReceived,
    peersLost: [...lost].map(([peer, reason]) => ({ peer, reason })),
    peersLeft: [...left],
    rejectedLines: stats.rejected + mesh.rejectedLines,
  };
  human.line(JSON.stringify(summary));
  events.emit({ event: 'summary', program: 'acklab-mcast', summary: { ...summary } });
  // Only now: a stop signal that lands while the mesh closes (up to a second when a peer is cut off)
  // must not kill the peer before it has said what it delivered.
  disposeSignals();
  return exitCode;
}

function whyUndelivered(why: string, missingAcks: number[], lost: Map<number, string>): string {
  const dead = missingAcks.filter((p) => lost.has(p));
  return dead.length ? `${why} (lost: ${dead.join(', ')})` : why;
}

/** [1,2,3,5,7,8] → "1-3,5,7-8" */
export function toRanges(sorted: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
