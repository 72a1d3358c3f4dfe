/**
 * The space-time diagram of an mcast run, drawn the way Maelstrom and ShiViz draw them: one
 * vertical line per node, time flowing down, an arrow for every message and every ACK from its
 * send to its receive, deliveries marked on the receiving line, partitions shaded.
 *
 * Everything comes from the programs' events (src/programs/events.ts):
 *   message send    `mcast_sent` on the sender            receive  `mcast_received` on each receiver
 *   ACK send        `mcast_received` on the acker          receive  `mcast_ack` (from = acker) on each peer
 *   delivery        `delivered`
 * acklab-mcast has no event of its own for sending an ACK: it broadcasts the ACK in the same
 * synchronous handler that emits `mcast_received` (src/programs/mcast/peer.ts), so that event's
 * time IS the ACK's send time; the diagram says so in its legend.
 *
 * Layout: events are ms-stamped and a loopback burst fits in one ms, so a linear time axis would
 * draw every arrow flat. Rows are therefore logical (one event per node per row, a receive always
 * below its send, a later ms always below an earlier one) and each row is labelled with its real
 * time — the Lamport-diagram layout, with the clock printed beside it.
 */
import type { TimedEvent } from '../results/index.js';

export interface SpaceTimeNodeInput {
  name: string;
  /** The node's mcast id (`--id`); null when its command did not say. */
  id: number | null;
  events: TimedEvent[];
}

export type StEventKind = 'send' | 'receive' | 'ack' | 'deliver';

export interface StEvent {
  /** Index in the model's event list. */
  index: number;
  node: string;
  ts: number;
  kind: StEventKind;
  /** The message this event is about: (sender id, seq). */
  sender: number;
  seq: number;
  lamport: number;
  /** `ack`: the id of the node whose ACK arrived. */
  from?: number;
  /** `deliver`: position in the node's delivered sequence. */
  position?: number;
}

export interface StArrow {
  kind: 'msg' | 'ack';
  from: string;
  to: string;
  sender: number;
  seq: number;
  /** The send event (message: `send`; ACK: the acker's `receive`). */
  send: number;
  /** The receive event; null when the destination never logged it (lost, partitioned, crashed, run ended). */
  receive: number | null;
}

export interface PartitionSpan {
  /** Epoch ms. */
  fromTs: number;
  /** Epoch ms; null when never healed within the run. */
  toTs: number | null;
  text: string;
  /** The rules were being put in or taken out (drawn lighter, dashed). */
  changing?: boolean;
}

export interface TimelineMarkTs {
  ts: number;
  text: string;
  kind: 'partition' | 'heal' | 'impair';
}

export interface SpaceTimeModel {
  nodes: { name: string; id: number | null }[];
  events: StEvent[];
  arrows: StArrow[];
  /** Events that could not be matched (e.g. a receive whose sender's events are missing). */
  problems: string[];
  /**
   * `receivedBeforeSent`: arrows whose receive was logged at an earlier ms than their send (drawn
   * pointing up). acklab-mcast logs `mcast_sent` after writing to its sockets, so it can lag.
   */
  counts: { messages: number; acks: number; deliveries: number; notReceived: number; receivedBeforeSent: number };
}

const key = (sender: number, seq: number) => `${sender}:${seq}`;

/** Builds the diagram's model from the mcast nodes' events. Pure. */
export function spaceTimeModel(inputs: SpaceTimeNodeInput[]): SpaceTimeModel {
  const events: StEvent[] = [];
  const problems: string[] = [];
  // per node: message key → its send / receive event; (acker, key) → ack arrival
  const sends = new Map<string, StEvent>();
  const receives = new Map<string, Map<string, StEvent>>();
  const ackArrivals = new Map<string, Map<string, StEvent>>();
  for (const n of inputs) {
    const recv = new Map<string, StEvent>();
    const acks = new Map<string, StEvent>();
    receives.set(n.name, recv);
    ackArrivals.set(n.name, acks);
    for (const e of n.events) {
      const base = { index: events.length, node: n.name, ts: e.ts };
      let ev: StEvent | undefined;
      if (e.event === 'mcast_sent') {
        if (n.id === null) {
          problems.push(`${n.name}: mcast_sent without a known --id; its messages cannot be matched`);
          continue;
        }
        ev = { ...base, kind: 'send', sender: n.id, seq: e.seq, lamport: e.lamport };
        sends.set(key(n.id, e.seq), ev);
      } else if (e.event === 'mcast_received') {
        ev = { ...base, kind: 'receive', sender: e.sender, seq: e.seq, lamport: e.lamport };
        recv.set(key(e.sender, e.seq), ev);
      } else if (e.event === 'mcast_ack') {
        ev = { ...base, kind: 'ack', sender: e.sender, seq: e.seq, lamport: e.lamport, from: e.from };
        acks.set(`${e.from}/${key(e.sender, e.seq)}`, ev);
      } else if (e.event === 'delivered') {
        ev = { ...base, kind: 'deliver', sender: e.sender, seq: e.seq, lamport: e.lamport, position: e.position };
      }
      if (ev) events.push(ev);
    }
  }
  const arrows: StArrow[] = [];
  let notReceived = 0;
  // every message goes to every other node
  for (const send of events.filter((e) => e.kind === 'send')) {
    for (const n of inputs) {
      if (n.name === send.node) continue;
      const r = receives.get(n.name)!.get(key(send.sender, send.seq));
      if (!r) notReceived++;
      arrows.push({ kind: 'msg', from: send.node, to: n.name, sender: send.sender, seq: send.seq, send: send.index, receive: r?.index ?? null });
    }
  }
  // every receiver broadcasts an ACK in the same handler as its `mcast_received`
  for (const recv of events.filter((e) => e.kind === 'receive')) {
    const acker = inputs.find((n) => n.name === recv.node)!;
    if (acker.id === null) continue;
    for (const n of inputs) {
      if (n.name === recv.node) continue;
      const a = ackArrivals.get(n.name)!.get(`${acker.id}/${key(recv.sender, recv.seq)}`);
      if (!a) notReceived++;
      arrows.push({ kind: 'ack', from: recv.node, to: n.name, sender: recv.sender, seq: recv.seq, send: recv.index, receive: a?.index ?? null });
    }
  }
  const unmatchedReceives = events.filter((e) => e.kind === 'receive' && !sends.has(key(e.sender, e.seq))).length;
  if (unmatchedReceives > 0) {
    problems.push(`${unmatchedReceives} message receive(s) have no mcast_sent event (the sender's events are missing or cut short); drawn without an arrow`);
  }
  return {
    nodes: inputs.map((n) => ({ name: n.name, id: n.id })),
    events,
    arrows,
    problems,
    counts: {
      messages: arrows.filter((a) => a.kind === 'msg' && a.receive !== null).length,
      acks: arrows.filter((a) => a.kind === 'ack' && a.receive !== null).length,
      deliveries: events.filter((e) => e.kind === 'deliver').length,
      notReceived,
      receivedBeforeSent: arrows.filter((a) => a.receive !== null && events[a.receive]!.ts < events[a.send]!.ts).length,
    },
  };
}

/**
 * Logical rows: events of one ms share a band below every earlier ms; inside it an event sits
 * below the previous event of its node and below the send it receives. Returns row per event.
 */
export function layoutRows(model: SpaceTimeModel): number[] {
  const rows = new Array<number>(model.events.length).fill(-1);
  // dependency of a receive on its send
  const dependsOn = new Map<number, number>();
  for (const a of model.arrows) if (a.receive !== null) dependsOn.set(a.receive, a.send);
  const prevOnNode = new Map<number, number>();
  const lastByNode = new Map<string, number>();
  for (const e of model.events) {
    const p = lastByNode.get(e.node);
    if (p !== undefined) prevOnNode.set(e.index, p);
    lastByNode.set(e.node, e.index);
  }
  const byTs = [...model.events].sort((a, b) => a.ts - b.ts || a.index - b.index);
  let bandStart = 0;
  let maxRow = -1;
  for (let i = 0; i < byTs.length; ) {
    let j = i;
    while (j < byTs.length && byTs[j]!.ts === byTs[i]!.ts) j++;
    const pending = byTs.slice(i, j);
    while (pending.length > 0) {
      // place the first event whose dependencies are placed (or lie outside this band)
      let k = pending.findIndex((e) => [prevOnNode.get(e.index), dependsOn.get(e.index)].every((d) => d === undefined || rows[d]! >= 0 || model.events[d]!.ts > e.ts));
      if (k < 0) k = 0; // a dependency cycle cannot come from real events; place in file order anyway
      const e = pending.splice(k, 1)[0]!;
      const deps = [prevOnNode.get(e.index), dependsOn.get(e.index)].filter((d): d is number => d !== undefined && rows[d]! >= 0);
      rows[e.index] = Math.max(bandStart, ...deps.map((d) => rows[d]! + 1));
      maxRow = Math.max(maxRow, rows[e.index]!);
    }
    bandStart = maxRow + 1;
    i = j;
  }
  return rows;
}

export interface SpaceTimeSvgOptions {
  /** Epoch ms of the run's zero; row labels are printed relative to it. */
  t0: number;
  partitions?: PartitionSpan[];
  marks?: TimelineMarkTs[];
  /** Rows per page (paging for long runs). */
  rowsPerPage?: number;
  /** Pages drawn at most; a longer run is cut there (each page says how many rows there are in all). */
  maxPages?: number;
  rowHeight?: number;
  columnWidth?: number;
}

export interface SpaceTimePage {
  /** First and last row (inclusive) and the real time they cover, relative to t0. */
  fromRow: number;
  toRow: number;
  fromMs: number;
  toMs: number;
  /** Rows of the whole diagram (more than the pages cover when maxPages cut it). */
  totalRows: number;
  svg: string;
}

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];
const ACK_COLOR = '#8c8c8c';
const LOST_COLOR = '#d62728';
// a white outline under labels keeps them readable where arrows cross
const HALO = 'stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"';

export function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const fmtMs = (ms: number) => `${ms >= 0 ? '+' : ''}${Number.isInteger(ms) ? ms : ms.toFixed(1)} ms`;

/** Renders the model as one SVG per page of rows. */
export function renderSpaceTimeSvg(model: SpaceTimeModel, options: SpaceTimeSvgOptions): SpaceTimePage[] {
  const rowsPerPage = options.rowsPerPage ?? 140;
  const rowH = options.rowHeight ?? 9;
  const colW = options.columnWidth ?? 190;
  const left = 86;
  const head = 40;
  const rows = layoutRows(model);
  const totalRows = Math.max(0, ...rows) + 1;
  const colOf = new Map(model.nodes.map((n, i) => [n.name, i]));
  const x = (node: string) => left + colW / 2 + colW * (colOf.get(node) ?? 0);
  const width = left + colW * model.nodes.length + 20;
  const colorOf = (sender: number) => {
    const i = model.nodes.findIndex((n) => n.id === sender);
    return PALETTE[(i >= 0 ? i : sender) % PALETTE.length]!;
  };
  // the row of the first event at or after ts (for partitions and marks)
  const byTs = model.events.map((e) => ({ ts: e.ts, row: rows[e.index]! })).sort((a, b) => a.ts - b.ts || a.row - b.row);
  const rowAt = (ts: number): number => {
    const hit = byTs.find((e) => e.ts >= ts);
    return hit ? hit.row : totalRows;
  };
  const pages: SpaceTimePage[] = [];
  const maxPages = options.maxPages ?? Infinity;
  for (let from = 0; from < Math.max(totalRows, 1) && pages.length < maxPages; from += rowsPerPage) {
    const to = Math.min(totalRows, from + rowsPerPage) - 1;
    const y = (row: number) => head + (row - from) * rowH + rowH / 2;
    const height = head + (to - from + 1) * rowH + 16;
    const bodyTop = head - 2;
    const out: string[] = [];
    out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="space-time" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="9">`);
    out.push('<defs>');
    for (const [i, c] of [...PALETTE, ACK_COLOR, LOST_COLOR].entries()) {
      out.push(`<marker id="st-arrow-${i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="${c === ACK_COLOR ? 4 : 6}" markerHeight="${c === ACK_COLOR ? 4 : 6}" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${c}"/></marker>`);
    }
    out.push(`<clipPath id="st-clip-${from}"><rect x="0" y="${bodyTop}" width="${width}" height="${height - bodyTop}"/></clipPath>`);
    out.push('</defs>');
    out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
    out.push(`<g clip-path="url(#st-clip-${from})">`);
    // partitions: shaded bands across every line
    for (const p of options.partitions ?? []) {
      const r0 = rowAt(p.fromTs);
      const r1 = p.toTs === null ? totalRows : rowAt(p.toTs);
      if (r1 < from || r0 > to + 1) continue;
      const top = y(Math.max(r0, from)) - rowH / 2;
      const bottom = y(Math.min(r1, to + 1)) - rowH / 2;
      const look = p.changing ? 'fill-opacity="0.04" stroke="#d62728" stroke-opacity="0.5" stroke-dasharray="2 2"' : 'fill-opacity="0.10"';
      out.push(`<rect class="partition${p.changing ? ' changing' : ''}" x="${left}" y="${top}" width="${colW * model.nodes.length}" height="${Math.max(bottom - top, 2)}" fill="#d62728" ${look}><title>${escapeXml(`${p.text}: ${fmtMs(p.fromTs - options.t0)} → ${p.toTs === null ? 'end of run (never healed)' : fmtMs(p.toTs - options.t0)}`)}</title></rect>`);
      if (r0 >= from) out.push(`<text x="${width - 16}" y="${top + 10}" text-anchor="end" fill="#d62728" font-weight="${p.changing ? 'normal' : 'bold'}" ${HALO}>${escapeXml(p.text)}</text>`);
    }
    for (const m of options.marks ?? []) {
      if (m.kind === 'partition') continue;
      const r = rowAt(m.ts);
      if (r < from || r > to + 1) continue;
      const yy = y(r) - rowH / 2;
      out.push(`<line class="mark" x1="${left}" x2="${width - 10}" y1="${yy}" y2="${yy}" stroke="#555" stroke-dasharray="4 3"/><text x="${width - 16}" y="${yy - 2}" text-anchor="end" fill="#333">${escapeXml(`${m.text} (${fmtMs(m.ts - options.t0)})`)}</text>`);
    }
    // node lines
    for (const n of model.nodes) {
      out.push(`<line class="node-line" x1="${x(n.name)}" x2="${x(n.name)}" y1="${bodyTop}" y2="${height - 8}" stroke="#333" stroke-width="1.5"/>`);
    }
    // time labels: the first row of each ms, skipped when the previous label is too close
    let lastLabelRow = -Infinity;
    const firstRowOfTs = new Map<number, number>();
    for (const e of byTs) if (!firstRowOfTs.has(e.ts)) firstRowOfTs.set(e.ts, e.row);
    for (const [ts, row] of firstRowOfTs) {
      if (row < from || row > to || row - lastLabelRow < 2) continue;
      lastLabelRow = row;
      out.push(`<text class="time" x="${left - 8}" y="${y(row) + 3}" text-anchor="end" fill="#666">${fmtMs(ts - options.t0)}</text>`);
      out.push(`<line x1="${left - 4}" x2="${width - 10}" y1="${y(row) - rowH / 2}" y2="${y(row) - rowH / 2}" stroke="#eee"/>`);
    }
    // arrows: acks first so messages are drawn on top
    const inPage = (a: number, b: number) => Math.max(a, b) >= from && Math.min(a, b) <= to;
    for (const kind of ['ack', 'msg'] as const) {
      for (const a of model.arrows) {
        if (a.kind !== kind) continue;
        const s = model.events[a.send]!;
        const r = a.receive === null ? null : model.events[a.receive]!;
        const rs = rows[a.send]!;
        const rr = r ? rows[r.index]! : rs + 1;
        if (!inPage(rs, rr)) continue;
        const color = kind === 'ack' ? ACK_COLOR : colorOf(a.sender);
        const marker = kind === 'ack' ? PALETTE.length : PALETTE.indexOf(color);
        const what = `${kind === 'msg' ? 'message' : `ACK from ${a.from} of`} ${a.sender}.${a.seq}`;
        if (r) {
          const title = `${what}: ${a.from} → ${a.to}, sent ${fmtMs(s.ts - options.t0)}, received ${fmtMs(r.ts - options.t0)} (${r.ts - s.ts} ms)`;
          out.push(`<line class="arrow ${kind}" x1="${x(a.from)}" y1="${y(rs)}" x2="${x(a.to)}" y2="${y(rr)}" stroke="${color}" stroke-width="${kind === 'msg' ? 1.6 : 0.7}" marker-end="url(#st-arrow-${marker})"><title>${escapeXml(title)}</title></line>`);
        } else {
          // never received: a dashed stub half-way, ending in a cross
          const x2 = (x(a.from) + x(a.to)) / 2;
          const y2 = y(rs) + rowH;
          out.push(`<g class="arrow lost ${kind}"><line x1="${x(a.from)}" y1="${y(rs)}" x2="${x2}" y2="${y2}" stroke="${LOST_COLOR}" stroke-width="${kind === 'msg' ? 1.4 : 0.7}" stroke-dasharray="3 2"/><path d="M${x2 - 3},${y2 - 3}L${x2 + 3},${y2 + 3}M${x2 - 3},${y2 + 3}L${x2 + 3},${y2 - 3}" stroke="${LOST_COLOR}" stroke-width="1.2"/><title>${escapeXml(`${what}: ${a.from} → ${a.to}, sent ${fmtMs(s.ts - options.t0)}, never received by ${a.to}`)}</title></g>`);
        }
      }
    }
    // sends and deliveries on the lines
    for (const e of model.events) {
      const row = rows[e.index]!;
      if (row < from || row > to) continue;
      if (e.kind === 'send') {
        out.push(`<circle class="send" cx="${x(e.node)}" cy="${y(row)}" r="3" fill="white" stroke="${colorOf(e.sender)}" stroke-width="1.5"><title>${escapeXml(`${e.node} multicasts ${e.sender}.${e.seq} (Lamport ${e.lamport}) at ${fmtMs(e.ts - options.t0)}`)}</title></circle>`);
        out.push(`<text x="${x(e.node) - 6}" y="${y(row) + 3}" text-anchor="end" fill="${colorOf(e.sender)}" ${HALO}>m${e.sender}.${e.seq}</text>`);
      } else if (e.kind === 'deliver') {
        out.push(`<circle class="deliver" cx="${x(e.node)}" cy="${y(row)}" r="3" fill="${colorOf(e.sender)}"><title>${escapeXml(`${e.node} delivers ${e.sender}.${e.seq} (Lamport ${e.lamport}) as #${e.position} at ${fmtMs(e.ts - options.t0)}`)}</title></circle>`);
        out.push(`<text x="${x(e.node) + 6}" y="${y(row) + 3}" fill="#222" ${HALO}>✓${e.sender}.${e.seq} #${e.position}</text>`);
      }
    }
    out.push('</g>');
    // headers last, on white, so they stay readable above clipped arrows
    out.push(`<rect x="0" y="0" width="${width}" height="${bodyTop}" fill="white"/>`);
    for (const n of model.nodes) {
      out.push(`<text class="node-name" x="${x(n.name)}" y="16" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(n.name)}</text>`);
      if (n.id !== null) out.push(`<text x="${x(n.name)}" y="29" text-anchor="middle" fill="#666">id ${n.id}</text>`);
    }
    out.push('<text x="4" y="16" fill="#666">time since t0</text>');
    out.push('</svg>');
    const rowTs = byTs.filter((e) => e.row >= from && e.row <= to).map((e) => e.ts - options.t0);
    pages.push({ fromRow: from, toRow: to, fromMs: rowTs.length ? Math.min(...rowTs) : 0, toMs: rowTs.length ? Math.max(...rowTs) : 0, totalRows, svg: out.join('\n') });
  }
  return pages;
}
