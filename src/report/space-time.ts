/**
 * Space-time diagrams of a run, drawn the way Lamport, Maelstrom and ShiViz draw them: one vertical
 * line per node, time flowing down, an arrow for every message from its send to its receive. This
 * file turns the programs' events (src/programs/events.ts) into the diagram's data (StData); the
 * drawing is space-time-render.ts.
 *
 * mcast (acklab-mcast and any program of the grading contract):
 *   message   `mcast_sent` on the sender  →  `mcast_received` on each other member
 *   ACK       `mcast_ack_sent` on the acker (without it: the acker's `mcast_received`, which
 *             broadcasts the ACK in the same handler)  →  `mcast_ack` (from = acker) on each other member
 *   delivery  `delivered`;   notes: `mesh_complete`, `peer_lost`, `peer_left`
 * peer client/server (acklab-peer):
 *   update    `update_sent` (client)  →  `update_received` (server), matched by connection and number
 *   ACK       `ack_sent` (server)  →  `ack_received` (client);   greeting: server `connected` → `greeting_received`
 *
 * Lamport timestamps: every event shows one. mcast events carry the program's own (`lamport` of a
 * send, `clock` after a receive); where a log leaves `clock` out it is replayed from the log with
 * the same rules (marked "derived"). acklab-peer keeps no clock, so its diagram derives one by
 * Lamport's rules from the matched sends and receives.
 *
 * Vertical positions: logs are stamped in whole ms, so events of one ms are spread inside that ms in
 * causal order (a send above its receive) — the time-true view stays true to the log's resolution.
 * The logical view uses the same order, one row per event of a node.
 */
import type { TimedEvent } from '../results/index.js';
import { cutOf, type FaultBand, type FaultSpan, type TimelineMark } from './faults.js';
import type { StArrow, StData, StEvent } from './space-time-render.js';

export interface DiagramNodeInput {
  name: string;
  /** mcast: the node's `--id` (null when its command did not say). */
  id?: number | null;
  /** peer: client or server, the client's target host, and the node's addresses (to match connections). */
  role?: 'peer-client' | 'peer-server';
  target?: string;
  addresses?: string[];
  events: TimedEvent[];
}

export interface DiagramContext {
  /** Epoch ms of the run's zero. */
  t0: number;
  spans: FaultSpan[];
  bands: FaultBand[];
  /** Applied timeline steps. */
  marks: TimelineMark[];
}

export interface SpaceTimeDiagram {
  kind: 'mcast' | 'peer';
  data: StData;
  counts: { messages: number; acks: number; deliveries: number; lost: number; lostAcks: number; receivedBeforeSent: number };
  /** Events that could not be matched, in words. */
  problems: string[];
}

/** An event before layout. */
interface Raw {
  n: number;
  ts: number;
  k: string;
  c: number;
  prio: number;
  /** Lamport clock after the event; null until derived. */
  clock: number | null;
  /** The clock came from the log (not derived). */
  logged: boolean;
  /** Label and hover text, once the clock is known. */
  text: (clock: number, derived: boolean) => { label: string; short: string; title: string };
  /** For a receive: the clock carried by the message (Lamport's rule: max(local, carried) + 1). */
  carried?: number;
  /** How a derived clock moves: `receive` max(local, the send's) + 1; `local` + 1; `none` stays (mcast deliveries and notes: the program does not tick). */
  tick: 'receive' | 'local' | 'none';
}

interface RawArrow {
  k: string;
  a: number;
  b: number | null;
  c: number;
  /** Hover text of the arrow. */
  what: string;
  to: number;
}

/**
 * Logical rows: events of one ms share a band below every earlier ms; inside it an event sits below
 * the previous event of its node and below the send it receives. Returns the row of each event.
 */
export function layoutRows(events: readonly { n: number; ts: number }[], dependsOn: ReadonlyMap<number, number>): number[] {
  const rows = new Array<number>(events.length).fill(-1);
  const prevOnNode = new Map<number, number>();
  const lastByNode = new Map<number, number>();
  events.forEach((e, i) => {
    const p = lastByNode.get(e.n);
    if (p !== undefined) prevOnNode.set(i, p);
    lastByNode.set(e.n, i);
  });
  const ms = (i: number) => Math.floor(events[i]!.ts);
  const byTs = events.map((_, i) => i).sort((a, b) => ms(a) - ms(b) || a - b);
  let bandStart = 0;
  let maxRow = -1;
  for (let i = 0; i < byTs.length; ) {
    let j = i;
    while (j < byTs.length && ms(byTs[j]!) === ms(byTs[i]!)) j++;
    const pending = byTs.slice(i, j);
    while (pending.length > 0) {
      // place the first event whose dependencies are placed (or lie in a later ms: a clock problem)
      let k = pending.findIndex((e) => [prevOnNode.get(e), dependsOn.get(e)].every((d) => d === undefined || rows[d]! >= 0 || ms(d) > ms(e)));
      if (k < 0) k = 0;
      const e = pending.splice(k, 1)[0]!;
      const deps = [prevOnNode.get(e), dependsOn.get(e)].filter((d): d is number => d !== undefined && rows[d]! >= 0);
      rows[e] = Math.max(bandStart, ...deps.map((d) => rows[d]! + 1));
      maxRow = Math.max(maxRow, rows[e]!);
    }
    bandStart = maxRow + 1;
    i = j;
  }
  return rows;
}

const fmt = (ms: number) => {
  const a = Math.abs(ms);
  return `${ms < 0 ? '−' : '+'}${a < 1000 ? `${Math.round(a)} ms` : `${(a / 1000).toFixed(3)} s`}`;
};
const dur = (ms: number) => (Math.abs(ms) < 1000 ? `${Math.round(ms * 10) / 10} ms` : `${(ms / 1000).toFixed(2)} s`);

/** Lays out, derives missing clocks (Lamport's rules, in causal order), and builds the renderer's data. */
function finish(kind: SpaceTimeDiagram['kind'], names: string[], notes: string[], raws: Raw[], arrows: RawArrow[], ctx: DiagramContext, endTs: number, problems: string[]): SpaceTimeDiagram {
  const deps = new Map<number, number>();
  for (const a of arrows) if (a.b !== null && !deps.has(a.b)) deps.set(a.b, a.a);
  const rows = layoutRows(raws, deps);
  // clocks in causal order (row order is causal: a send's row is above its receives')
  const order = raws.map((_, i) => i).sort((a, b) => rows[a]! - rows[b]! || a - b);
  const last = new Map<number, number>();
  const derived = new Set<number>();
  for (const i of order) {
    const r = raws[i]!;
    const prev = last.get(r.n) ?? 0;
    if (r.clock === null) {
      if (r.tick !== 'none') derived.add(i);
      const send = deps.get(i);
      const carried = r.carried ?? (send !== undefined ? (raws[send]!.clock ?? 0) : undefined);
      r.clock = r.tick === 'none' ? prev : r.tick === 'receive' && carried !== undefined ? Math.max(prev, carried) + 1 : prev + 1;
    }
    last.set(r.n, r.clock);
  }
  // spread the events of one logged ms inside it, by row
  const band = new Map<number, { lo: number; hi: number }>();
  raws.forEach((r, i) => {
    const m = Math.floor(r.ts);
    const b = band.get(m);
    band.set(m, b ? { lo: Math.min(b.lo, rows[i]!), hi: Math.max(b.hi, rows[i]!) } : { lo: rows[i]!, hi: rows[i]! });
  });
  const events: StEvent[] = raws.map((r, i) => {
    const m = Math.floor(r.ts);
    const b = band.get(m)!;
    const { label, short, title } = r.text(r.clock!, derived.has(i));
    return { n: r.n, t: m - ctx.t0 + (rows[i]! - b.lo + 0.5) / (b.hi - b.lo + 1), ms: r.ts - ctx.t0, row: rows[i]!, k: r.k, c: r.c, label, short, title, prio: r.prio };
  });
  // renderer wants events sorted by time; keep a map for the arrows
  const sorted = events.map((e, i) => ({ e, i })).sort((a, b) => a.e.t - b.e.t || a.e.row - b.e.row);
  const newIndex = new Map(sorted.map((s, k) => [s.i, k]));
  let lost = 0;
  let lostAcks = 0;
  let receivedBeforeSent = 0;
  const endMs = endTs - ctx.t0;
  const stArrows: StArrow[] = arrows.map((a) => {
    const s = raws[a.a]!;
    if (a.b !== null) {
      const r = raws[a.b]!;
      if (r.ts < s.ts) receivedBeforeSent++;
      return { k: a.k, a: newIndex.get(a.a)!, b: newIndex.get(a.b)!, c: a.c, title: `${a.what}: ${names[s.n]} → ${names[r.n]}, sent ${fmt(s.ts - ctx.t0)}, received ${fmt(r.ts - ctx.t0)} (${dur(r.ts - s.ts)})` };
    }
    if (a.k === 'ack') lostAcks++;
    else lost++;
    const cut = cutOf(ctx.spans, names[s.n]!, names[a.to]!, s.ts - ctx.t0);
    const why = cut ? `lost at the cut “${cut.text}” (${fmt(cut.atMs)})` : `no fault of the timeline accounts for it (drawn at the end of the run, ${fmt(endMs)})`;
    return {
      k: a.k,
      a: newIndex.get(a.a)!,
      b: null,
      c: a.c,
      title: `${a.what}: ${names[s.n]} → ${names[a.to]}, sent ${fmt(s.ts - ctx.t0)}, never received by ${names[a.to]} — ${why}`,
      lost: { n: a.to, t: cut ? cut.atMs : Math.max(endMs, s.ts - ctx.t0) },
    };
  });
  const times = events.map((e) => e.t);
  const start = Math.min(0, ...times);
  const end = Math.max(endMs, ...times, ...ctx.marks.map((m) => m.atMs), ...ctx.bands.flatMap((b) => (b.toMs === null ? [b.fromMs] : [b.fromMs, b.toMs])));
  const data: StData = {
    lifelines: names.map((name, i) => ({ name, note: notes[i] ?? '' })),
    events: sorted.map((s) => s.e),
    arrows: stArrows,
    bands: ctx.bands.map((b) => ({ from: b.fromMs, to: b.toMs, text: b.text, cls: b.cls, changing: b.changing })),
    marks: ctx.marks.map((m) => ({ t: m.atMs, text: m.text, cls: m.cls })),
    start,
    end,
  };
  return {
    kind,
    data,
    counts: {
      messages: arrows.filter((a) => a.k !== 'ack' && a.k !== 'greeting' && a.b !== null).length,
      acks: arrows.filter((a) => a.k === 'ack' && a.b !== null).length,
      deliveries: raws.filter((r) => r.k === 'deliver').length,
      lost,
      lostAcks,
      receivedBeforeSent,
    },
    problems,
  };
}

/** The last event time of any of the nodes (the end of the run as logged), epoch ms. */
const lastTs = (inputs: readonly DiagramNodeInput[]) => Math.max(-Infinity, ...inputs.flatMap((n) => n.events.map((e) => e.ts)));

/** The mcast members' diagram. */
export function mcastDiagram(inputs: readonly DiagramNodeInput[], ctx: DiagramContext): SpaceTimeDiagram {
  const problems: string[] = [];
  const raws: Raw[] = [];
  const arrows: RawArrow[] = [];
  const names = inputs.map((n) => n.name);
  const idOf = inputs.map((n) => n.id ?? null);
  const laneOfId = new Map(idOf.flatMap((id, i) => (id === null ? [] : [[id, i] as const])));
  const key = (sender: number, seq: number) => `${sender}.${seq}`;
  const sends = new Map<string, number>();
  const receives = inputs.map(() => new Map<string, number>());
  /** per lane: message key → the event its ACK is sent at (an `mcast_ack_sent`, else the receive) */
  const ackSends = inputs.map(() => new Map<string, number>());
  const ackArrivals = inputs.map(() => new Map<string, number>());
  /** per lane: peer id → when this node stopped sending to it (lost or left) */
  const gone = inputs.map(() => new Map<number, number>());
  const t = (ts: number) => fmt(ts - ctx.t0);
  const colorOf = (sender: number) => laneOfId.get(sender) ?? sender;
  const clockNote = (who: string, clock: number, derived: boolean) => `${who}'s Lamport clock: ${clock}${derived ? ' (derived from the log; the program did not log it)' : ''}`;

  inputs.forEach((node, n) => {
    const id = idOf[n];
    const hasAckSent = node.events.some((e) => e.event === 'mcast_ack_sent');
    for (const e of node.events) {
      const idx = raws.length;
      if (e.event === 'mcast_sent') {
        if (id === null || id === undefined) {
          problems.push(`${node.name}: mcast_sent without a known --id; its messages cannot be matched`);
          continue;
        }
        const m = key(id, e.seq);
        sends.set(m, idx);
        raws.push({
          n, ts: e.ts, k: 'send', c: n, prio: 0, clock: e.lamport, logged: true, tick: 'local',
          text: (L) => ({ label: `m${m} L${L}`, short: `L${L}`, title: `${node.name} multicasts message ${m} at ${t(e.ts)}, stamped with Lamport timestamp ${L}` }),
        });
      } else if (e.event === 'mcast_received') {
        const m = key(e.sender, e.seq);
        receives[n]!.set(m, idx);
        if (!hasAckSent) ackSends[n]!.set(m, idx);
        raws.push({
          n, ts: e.ts, k: 'recv', c: colorOf(e.sender), prio: 2, clock: typeof e.clock === 'number' ? e.clock : null, logged: typeof e.clock === 'number', carried: e.lamport, tick: 'receive',
          text: (L, d) => ({
            label: `L${L}`,
            short: '',
            title: `${node.name} receives message ${m} (stamped ${e.lamport}) at ${t(e.ts)}${hasAckSent ? '' : ' and multicasts its ACK in the same handler'}; ${clockNote(node.name, L, d)}`,
          }),
        });
      } else if (e.event === 'mcast_ack_sent') {
        const m = key(e.sender, e.seq);
        ackSends[n]!.set(m, idx);
        raws.push({
          n, ts: e.ts, k: 'ack-send', c: colorOf(e.sender), prio: 3, clock: e.lamport, logged: true, tick: 'local',
          text: (L) => ({ label: `L${L}`, short: '', title: `${node.name} multicasts its ACK of ${m} at ${t(e.ts)}, stamped ${L}` }),
        });
      } else if (e.event === 'mcast_ack') {
        ackArrivals[n]!.set(`${e.from}/${key(e.sender, e.seq)}`, idx);
        raws.push({
          n, ts: e.ts, k: 'ack-recv', c: colorOf(e.sender), prio: 3, clock: typeof e.clock === 'number' ? e.clock : null, logged: typeof e.clock === 'number', carried: e.lamport, tick: 'receive',
          text: (L, d) => ({ label: `L${L}`, short: '', title: `${node.name} receives the ACK of ${key(e.sender, e.seq)} from ${names[laneOfId.get(e.from) ?? -1] ?? `peer ${e.from}`} (stamped ${e.lamport}) at ${t(e.ts)}; ${clockNote(node.name, L, d)}` }),
        });
      } else if (e.event === 'delivered') {
        const m = key(e.sender, e.seq);
        raws.push({
          n, ts: e.ts, k: 'deliver', c: colorOf(e.sender), prio: 1, clock: null, logged: false, tick: 'none',
          text: (L) => ({ label: `✓${m} #${e.position} L${L}`, short: `✓${m} #${e.position}`, title: `${node.name} delivers message ${m} (timestamp ${e.lamport}) as #${e.position} at ${t(e.ts)}; ${node.name}'s Lamport clock: ${L} (a delivery does not advance it)` }),
        });
      } else if (e.event === 'peer_lost' || e.event === 'peer_left') {
        if (!gone[n]!.has(e.peer)) gone[n]!.set(e.peer, e.ts);
        const what = e.event === 'peer_lost' ? `lost peer ${e.peer}` : `peer ${e.peer} left`;
        raws.push({
          n, ts: e.ts, k: 'note', c: n, prio: 1, clock: null, logged: false, tick: 'none',
          text: (L) => ({ label: e.event === 'peer_lost' ? `lost ${e.peer}` : `${e.peer} left`, short: '', title: `${node.name}: ${what} at ${t(e.ts)}${e.event === 'peer_lost' ? ` (${e.reason})` : ''}; Lamport clock ${L}` }),
        });
      } else if (e.event === 'mesh_complete') {
        raws.push({
          n, ts: e.ts, k: 'note', c: n, prio: 4, clock: null, logged: false, tick: 'none',
          text: (L) => ({ label: 'mesh up', short: '', title: `${node.name}: every link of the mesh is up at ${t(e.ts)}; Lamport clock ${L}` }),
        });
      }
    }
  });
  const sendsTo = (from: number, to: number, ts: number) => {
    const id = idOf[to];
    const g = id === null || id === undefined ? undefined : gone[from]!.get(id);
    return g === undefined || ts < g;
  };
  for (const [m, si] of sends) {
    const s = raws[si]!;
    inputs.forEach((_, to) => {
      if (to === s.n) return;
      const r = receives[to]!.get(m);
      if (r === undefined && !sendsTo(s.n, to, s.ts)) return;
      arrows.push({ k: 'msg', a: si, b: r ?? null, c: s.n, what: `message ${m}`, to });
    });
  }
  inputs.forEach((_, n) => {
    const ackerId = idOf[n];
    if (ackerId === null || ackerId === undefined) return;
    for (const [m, si] of ackSends[n]!) {
      const s = raws[si]!;
      inputs.forEach((_, to) => {
        if (to === n) return;
        const r = ackArrivals[to]!.get(`${ackerId}/${m}`);
        if (r === undefined && !sendsTo(n, to, s.ts)) return;
        arrows.push({ k: 'ack', a: si, b: r ?? null, c: s.c, what: `ACK of ${m} from ${names[n]}`, to });
      });
    }
  });
  const unmatched = receives.reduce((sum, r) => sum + [...r.keys()].filter((m) => !sends.has(m)).length, 0);
  if (unmatched > 0) problems.push(`${unmatched} message receive(s) have no mcast_sent event (the sender's events are missing or cut short); drawn without an arrow`);
  const notes = inputs.map((n) => (n.id === null || n.id === undefined ? '' : `id ${n.id}`));
  return finish('mcast', names, notes, raws, arrows, ctx, lastTs(inputs), problems);
}

/** The peer client/server pairs' diagram: clients on the left, their servers on the right. */
export function peerDiagram(inputs: readonly DiagramNodeInput[], ctx: DiagramContext): SpaceTimeDiagram {
  const problems: string[] = [];
  const clients = inputs.filter((n) => n.role === 'peer-client');
  const servers = inputs.filter((n) => n.role === 'peer-server');
  const lanes = [...clients, ...servers];
  const names = lanes.map((n) => n.name);
  const raws: Raw[] = [];
  const arrows: RawArrow[] = [];
  const t = (ts: number) => fmt(ts - ctx.t0);
  const derivedNote = 'Lamport clock (derived: acklab-peer keeps none, so it follows Lamport’s rules over the matched sends and receives)';
  type Idx = Map<string, number>;
  const ev = lanes.map(() => ({ connected: new Map<number, number>(), greeting: new Map<number, number>(), updSent: new Map() as Idx, updRecv: new Map() as Idx, ackSent: new Map() as Idx, ackRecv: new Map() as Idx }));
  const serverConns = lanes.map(() => [] as { conn: number; ip: string; ts: number }[]);
  const clientConns = lanes.map(() => [] as { conn: number; ts: number }[]);
  lanes.forEach((node, n) => {
    const client = node.role === 'peer-client';
    for (const e of node.events) {
      const idx = raws.length;
      const push = (k: string, prio: number, text: Raw['text'], tick: Raw['tick'] = 'local') => raws.push({ n, ts: e.ts, k, c: n, prio, clock: null, logged: false, text, tick });
      if (e.event === 'connected') {
        ev[n]!.connected.set(e.conn, idx);
        if (client) clientConns[n]!.push({ conn: e.conn, ts: e.ts });
        else serverConns[n]!.push({ conn: e.conn, ip: e.peer.replace(/^\[?([^\]]*?)\]?:\d+$/, '$1'), ts: e.ts });
        push('note', 1, (L) => ({ label: `conn ${e.conn}`, short: '', title: `${node.name}: connection ${e.conn} ${client ? `to ${e.peer}` : `from ${e.peer}`} up at ${t(e.ts)}${client ? '' : ' (sends the greeting)'}; ${derivedNote}: ${L}` }));
      } else if (e.event === 'disconnected') {
        push('note', 1, (L) => ({ label: `closed ${e.conn}`, short: '', title: `${node.name}: connection ${e.conn} closed at ${t(e.ts)}: ${e.reason}; ${derivedNote}: ${L}` }));
      } else if (e.event === 'connect_failed') {
        push('note', 4, (L) => ({ label: 'connect failed', short: '', title: `${node.name}: connecting to ${e.target} failed (attempt ${e.attempt}) at ${t(e.ts)}: ${e.error}; ${derivedNote}: ${L}` }));
      } else if (e.event === 'greeting_received') {
        ev[n]!.greeting.set(e.conn, idx);
        push('recv', 3, (L) => ({ label: `L${L}`, short: '', title: `${node.name} receives the server's <connection up> greeting at ${t(e.ts)}; ${derivedNote}: ${L}` }), 'receive');
      } else if (e.event === 'update_sent') {
        ev[n]!.updSent.set(`${e.conn}:${e.seq}`, idx);
        const name = e.conn > 1 ? `u${e.conn}.${e.seq}` : `u${e.seq}`;
        push('update-send', 0, (L) => ({ label: `${name} L${L}`, short: `L${L}`, title: `${node.name} sends <update> ${e.seq} on connection ${e.conn} at ${t(e.ts)}; ${derivedNote}: ${L}` }));
      } else if (e.event === 'update_received') {
        ev[n]!.updRecv.set(`${e.conn}:${e.seq}`, idx);
        push('recv', 2, (L) => ({ label: `L${L}`, short: '', title: `${node.name} receives <update> ${e.seq} on connection ${e.conn} at ${t(e.ts)}; ${derivedNote}: ${L}` }), 'receive');
      } else if (e.event === 'ack_sent') {
        ev[n]!.ackSent.set(`${e.conn}:${e.seq}`, idx);
        push('ack-send', 3, (L) => ({ label: `L${L}`, short: '', title: `${node.name} sends <Ack> ${e.seq} on connection ${e.conn} at ${t(e.ts)}; ${derivedNote}: ${L}` }));
      } else if (e.event === 'ack_received') {
        ev[n]!.ackRecv.set(`${e.conn}:${e.seq}`, idx);
        push('deliver', 1, (L) => ({ label: `✓${e.seq} ${dur(e.rttMs)} L${L}`, short: `✓${e.seq} L${L}`, title: `${node.name} receives <Ack> ${e.seq} on connection ${e.conn} at ${t(e.ts)}, ${dur(e.rttMs)} after its update; ${derivedNote}: ${L}` }), 'receive');
      }
    }
  });
  // which server connection is which client connection: by the client's address, then in order
  const pairs: { c: number; cc: number; s: number; sc: number }[] = [];
  const taken = lanes.map(() => new Set<number>());
  lanes.forEach((node, c) => {
    if (node.role !== 'peer-client') return;
    const target = (node.target ?? '').toLowerCase();
    let s = lanes.findIndex((l) => l.role === 'peer-server' && l.name.toLowerCase() === target);
    if (s < 0 && servers.length === 1) s = lanes.indexOf(servers[0]!);
    if (s < 0) {
      problems.push(`${node.name}: its server "${node.target ?? '?'}" is not a node of this run; its updates are drawn without arrows`);
      return;
    }
    const mine = serverConns[s]!.filter((sc) => (node.addresses ?? []).includes(sc.ip));
    const candidates = (mine.length > 0 ? mine : serverConns[s]!).filter((sc) => !taken[s]!.has(sc.conn)).sort((a, b) => a.ts - b.ts);
    for (const cc of [...clientConns[c]!].sort((a, b) => a.ts - b.ts)) {
      const sc = candidates.shift();
      if (!sc) break;
      taken[s]!.add(sc.conn);
      pairs.push({ c, cc: cc.conn, s, sc: sc.conn });
    }
  });
  for (const p of pairs) {
    const cEv = ev[p.c]!;
    const sEv = ev[p.s]!;
    const g = cEv.greeting.get(p.cc);
    const sConn = sEv.connected.get(p.sc);
    if (g !== undefined && sConn !== undefined) arrows.push({ k: 'greeting', a: sConn, b: g, c: p.s, what: `<connection up> greeting, connection ${p.cc}`, to: p.c });
    for (const [k, si] of cEv.updSent) {
      const [conn, seq] = k.split(':');
      if (Number(conn) !== p.cc) continue;
      const r = sEv.updRecv.get(`${p.sc}:${seq}`);
      arrows.push({ k: 'update', a: si, b: r ?? null, c: p.c, what: `<update> ${seq} (connection ${p.cc})`, to: p.s });
    }
    for (const [k, si] of sEv.ackSent) {
      const [conn, seq] = k.split(':');
      if (Number(conn) !== p.sc) continue;
      const r = cEv.ackRecv.get(`${p.cc}:${seq}`);
      arrows.push({ k: 'ack', a: si, b: r ?? null, c: p.c, what: `<Ack> ${seq} (connection ${p.cc})`, to: p.c });
    }
  }
  const notes = lanes.map((n) => (n.role === 'peer-client' ? `client → ${n.target ?? '?'}` : 'server'));
  return finish('peer', names, notes, raws, arrows, ctx, lastTs(inputs), problems);
}
