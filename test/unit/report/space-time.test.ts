import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRun, type TimedEvent } from '../../../src/results/index.js';
import { reportData } from '../../../src/report/html-data.js';
import { loadReportInput } from '../../../src/report/load.js';
import { createSpaceTimeRenderer, spaceTimeRendererSource, type StData } from '../../../src/report/space-time-render.js';
import { layoutRows, mcastDiagram, peerDiagram, type DiagramContext, type DiagramNodeInput } from '../../../src/report/space-time.js';

const DOCKER = path.resolve(import.meta.dirname, '../../fixtures/runs/docker-sweep');
const noFaults: DiagramContext = { t0: 0, spans: [], bands: [], marks: [] };

/** Two peers, one message from a, ACKed by b, delivered by both; times as given. */
function twoPeers(t: { send: number; recv: number; ackSent?: number; ackRecv?: number; deliverA?: number; deliverB: number; clocks?: boolean }): DiagramNodeInput[] {
  const a: TimedEvent[] = [{ ts: t.send, event: 'mcast_sent', lamport: 1, seq: 1 }];
  if (t.ackRecv !== undefined) a.push({ ts: t.ackRecv, event: 'mcast_ack', from: 2, sender: 1, seq: 1, lamport: 3, ...(t.clocks ? { clock: 4 } : {}) });
  if (t.deliverA !== undefined) a.push({ ts: t.deliverA, event: 'delivered', lamport: 1, sender: 1, seq: 1, position: 1 });
  const b: TimedEvent[] = [{ ts: t.recv, event: 'mcast_received', lamport: 1, sender: 1, seq: 1, ...(t.clocks ? { clock: 2 } : {}) }];
  if (t.ackSent !== undefined) b.push({ ts: t.ackSent, event: 'mcast_ack_sent', sender: 1, seq: 1, lamport: 3 });
  b.push({ ts: t.deliverB, event: 'delivered', lamport: 1, sender: 1, seq: 1, position: 1 });
  return [
    { name: 'a', id: 1, events: a },
    { name: 'b', id: 2, events: b },
  ];
}

const kinds = (d: StData) => d.events.map((e) => `${d.lifelines[e.n]!.name}:${e.k}`);

describe('mcast diagram data', () => {
  it('matches every message and ACK to its send, with the ACK leaving from its own event when logged', () => {
    const d = mcastDiagram(twoPeers({ send: 100, recv: 101, ackSent: 101, ackRecv: 102, deliverA: 102, deliverB: 101 }), noFaults);
    expect(kinds(d.data)).toEqual(['a:send', 'b:recv', 'b:ack-send', 'b:deliver', 'a:ack-recv', 'a:deliver']);
    const [msg, ack] = d.data.arrows;
    expect(msg).toMatchObject({ k: 'msg', a: 0, b: 1 });
    expect(ack).toMatchObject({ k: 'ack', a: 2, b: 4 });
    expect(d.counts).toMatchObject({ messages: 1, acks: 1, deliveries: 2, lost: 0, lostAcks: 0, receivedBeforeSent: 0 });
  });

  it('without an ack-send event, the ACK leaves from the receive (older logs and other implementations)', () => {
    const d = mcastDiagram(twoPeers({ send: 100, recv: 101, ackRecv: 102, deliverB: 101 }), noFaults);
    const ack = d.data.arrows.find((a) => a.k === 'ack')!;
    expect(d.data.events[ack.a]!.k).toBe('recv');
  });

  it('spreads the events of one logged ms inside it, a receive below its send', () => {
    const d = mcastDiagram(twoPeers({ send: 100, recv: 100, ackSent: 100, ackRecv: 100, deliverA: 100, deliverB: 100 }), noFaults);
    for (const e of d.data.events) expect(e.t).toBeGreaterThanOrEqual(100), expect(e.t).toBeLessThan(101);
    for (const a of d.data.arrows) expect(d.data.events[a.b!]!.t).toBeGreaterThan(d.data.events[a.a]!.t);
  });

  it('shows the logged Lamport clocks, and derives them by the same rules where the log has none', () => {
    const logged = mcastDiagram(twoPeers({ send: 100, recv: 101, ackSent: 101, ackRecv: 102, deliverB: 101, clocks: true }), noFaults);
    const derived = mcastDiagram(twoPeers({ send: 100, recv: 101, ackSent: 101, ackRecv: 102, deliverB: 101 }), noFaults);
    for (const d of [logged, derived]) {
      expect(d.data.events.map((e) => `${e.k} ${e.label}`)).toEqual(['send m1.1 L1', 'recv L2', 'ack-send L3', 'deliver ✓1.1 #1 L3', 'ack-recv L4']);
    }
    expect(logged.data.events[1]!.title).not.toMatch(/derived/);
    expect(derived.data.events[1]!.title).toMatch(/derived from the log/);
  });

  it('keeps a message that was never received, lost at the cut of a partition between sender and receiver', () => {
    const nodes = twoPeers({ send: 1100, recv: 0, deliverB: 0 });
    nodes[1]!.events = [];
    const spans = [{ text: 'at 1s partition a | b', cls: 'partition' as const, verb: 'partition', nodes: ['a', 'b'], plannedMs: 1000, inForceMs: 1200, endText: null, endPlannedMs: null, endedMs: null, cuts: [{ from: 'a', to: 'b' }, { from: 'b', to: 'a' }] }];
    const d = mcastDiagram(nodes, { ...noFaults, spans });
    expect(d.data.arrows).toEqual([expect.objectContaining({ k: 'msg', b: null, lost: { n: 1, t: 1200 } })]);
    expect(d.data.arrows[0]!.title).toMatch(/never received by b — lost at the cut “at 1s partition a \| b” \(\+1\.200 s\)/);
    expect(d.counts.lost).toBe(1);
  });

  it('draws no arrow to a peer the sender had already lost (it sent nothing)', () => {
    const nodes = twoPeers({ send: 100, recv: 0, deliverB: 0 });
    nodes[0]!.events.unshift({ ts: 50, event: 'peer_lost', peer: 2, reason: 'silent' });
    nodes[1]!.events = [];
    expect(mcastDiagram(nodes, noFaults).data.arrows).toEqual([]);
  });

  it('a real run: every message and ACK matched, none received before it was sent', async () => {
    const run = await loadRun(path.join(DOCKER, 'baseline-r1'));
    const data = reportData({ kind: 'run', dir: run.dir, run });
    const d = data.runs[0]!.diagrams.find((x) => x.kind === 'mcast')!;
    expect(d.counts).toMatchObject({ messages: 120, acks: 240, deliveries: 180, lost: 0, lostAcks: 0, receivedBeforeSent: 0 });
    for (const a of d.data.arrows) expect(d.data.events[a.b!]!.t).toBeGreaterThan(d.data.events[a.a]!.t);
    // every event carries its Lamport timestamp
    for (const e of d.data.events) expect(e.title).toMatch(/Lamport|stamped \d+/);
  });

  it('a partition that never heals: what crossed it is lost at the time it was in force, on its own path', async () => {
    const data = reportData(await loadReportInput(path.join(DOCKER, 'partition-no-heal-r1')));
    const run = data.runs[0]!;
    const inForce = run.spans[0]!.inForceMs;
    const d = run.diagrams.find((x) => x.kind === 'mcast')!;
    const lost = d.data.arrows.filter((a) => a.lost);
    expect(lost.length).toBeGreaterThan(10);
    for (const a of lost) {
      const from = d.data.lifelines[d.data.events[a.a]!.n]!.name;
      const to = d.data.lifelines[a.lost!.n]!.name;
      // p1 is cut off from p2 and p3
      expect([from, to].filter((n) => n === 'p1')).toHaveLength(1);
      expect(a.lost!.t).toBe(Math.max(inForce, d.data.events[a.a]!.ms));
    }
  });
});

describe('peer diagram data', () => {
  it('pairs client and server connections and matches updates, acks and the greeting', async () => {
    const data = reportData(await loadReportInput(path.join(DOCKER, 'delay-50ms-r1')));
    const run = data.runs[0]!;
    const d = run.diagrams.find((x) => x.kind === 'peer')!;
    expect(d.data.lifelines.map((l) => l.name)).toEqual(['client', 'server']);
    const m = run.metrics!.peer!;
    expect(d.counts).toMatchObject({ messages: m.updatesSent, acks: m.acksReceived, lost: 0, lostAcks: 0, receivedBeforeSent: 0 });
    expect(d.data.arrows.filter((a) => a.k === 'greeting')).toHaveLength(1);
    // Lamport clocks derived by Lamport's rules: a receive is above its send's
    for (const a of d.data.arrows) {
      const L = (i: number) => Number(/: (\d+)$/.exec(d.data.events[i]!.title)![1]);
      expect(L(a.b!)).toBeGreaterThan(L(a.a));
    }
  });

  it('updates sent into a partition that never heals are lost at its cut', async () => {
    const data = reportData(await loadReportInput(path.join(DOCKER, 'partition-no-heal-r1')));
    const run = data.runs[0]!;
    const d = run.diagrams.find((x) => x.kind === 'peer')!;
    const lost = d.data.arrows.filter((a) => a.k === 'update' && a.b === null);
    expect(lost.length).toBe(run.metrics!.peer!.updatesSent - run.metrics!.peer!.acksReceived - d.counts.lostAcks);
    for (const a of lost) expect(a.lost!.t).toBeGreaterThanOrEqual(run.spans[0]!.inForceMs);
  });
});

describe('logical rows', () => {
  it('put a receive of the same ms below its send, and a later ms below everything earlier', () => {
    const events = [{ n: 0, ts: 100 }, { n: 1, ts: 100 }, { n: 1, ts: 100 }, { n: 0, ts: 100 }, { n: 0, ts: 130 }];
    const rows = layoutRows(events, new Map([[1, 0], [3, 2]]));
    expect(rows[1]).toBeGreaterThan(rows[0]!);
    expect(rows[3]).toBeGreaterThan(rows[2]!);
    expect(rows[4]).toBeGreaterThan(Math.max(...rows.slice(0, 4)));
  });
});

/** A synthetic diagram: bursts of messages every 400 ms, one that takes 3 s, and a partition. */
function synthetic(): StData {
  const events: StData['events'] = [];
  const arrows: StData['arrows'] = [];
  for (let k = 0; k < 8; k++) {
    const t = 100 + 400 * k;
    events.push({ n: 0, t, ms: t, row: 2 * k, k: 'send', c: 0, label: `m1.${k + 1} L${k}`, short: `L${k}`, title: 'send', prio: 0 });
    events.push({ n: 1, t: t + 2, ms: t + 2, row: 2 * k + 1, k: 'recv', c: 0, label: `L${k + 1}`, short: '', title: 'recv', prio: 2 });
    arrows.push({ k: 'msg', a: 2 * k, b: 2 * k + 1, c: 0, title: 'msg' });
  }
  events.push({ n: 1, t: 400, ms: 400, row: 3, k: 'send', c: 1, label: 'm2.1 L9', short: 'L9', title: 'send', prio: 0 });
  events.push({ n: 0, t: 3400, ms: 3400, row: 20, k: 'recv', c: 1, label: 'L10', short: '', title: 'recv', prio: 2 });
  arrows.push({ k: 'msg', a: 16, b: 17, c: 1, title: 'slow' });
  arrows.push({ k: 'msg', a: 0, b: null, c: 0, title: 'lost', lost: { n: 1, t: 150 } });
  // the renderer wants events in time order: sort, and point the arrows at the new places
  const order = events.map((e, i) => ({ e, i })).sort((x, y) => x.e.t - y.e.t);
  const at = new Map(order.map((o, k) => [o.i, k]));
  const sorted = order.map((o) => o.e);
  const moved = arrows.map((a) => ({ ...a, a: at.get(a.a)!, b: a.b === null ? null : at.get(a.b)! }));
  return { lifelines: [{ name: 'p1', note: 'id 1' }, { name: 'p2', note: 'id 2' }], events: sorted, arrows: moved, bands: [{ from: 1000, to: 2000, text: 'at 1s partition p1 | p2', cls: 'partition', changing: false }], marks: [{ t: 1000, text: 'at 1s partition p1 | p2', cls: 'partition' }, { t: 2000, text: 'at 2s heal', cls: 'heal' }], start: 0, end: 3500 };
}

/** Text boxes of an SVG's labels (estimated width, as the renderer estimates it). */
function labelBoxes(svg: string): { x0: number; x1: number; y0: number; y1: number; text: string }[] {
  return [...svg.matchAll(/<text class="lbl[^"]*" x="([\d.-]+)" y="([\d.-]+)"(?: text-anchor="(\w+)")?[^>]*>(.*?)<\/text>/g)].map((m) => {
    const x = Number(m[1]);
    const y = Number(m[2]);
    const lines = [...m[4]!.matchAll(/<tspan[^>]*>(.*?)<\/tspan>/g)].map((t) => t[1]!);
    const texts = lines.length ? lines : [m[4]!];
    const w = Math.max(...texts.map((t) => t.replace(/&\w+;/g, '_').length)) * 5.7;
    const [x0, x1] = m[3] === 'end' ? [x - w, x] : [x, x + w];
    return { x0, x1, y0: y - 9, y1: y - 9 + 12 * texts.length, text: texts.join(' ') };
  });
}

describe('space-time renderer', () => {
  const R = createSpaceTimeRenderer();

  it('time-true: height follows time, quiet stretches are shortened and marked, a typical message is not', () => {
    const data = synthetic();
    const s = R.scale(data, { mode: 'time', zoom: 10 });
    // inside a burst, 2 ms are 20 px
    expect(s.y(102) - s.y(100)).toBeCloseTo(20, 5);
    // 398 quiet ms are far less than 3980 px, and marked as a break
    expect(s.y(500) - s.y(102)).toBeLessThan(300);
    expect(s.breaks.some((b) => b.t0 >= 102 && b.t1 <= 500)).toBe(true);
    // a message in flight for its usual 30 ms is drawn to scale; the same 30 quiet ms are shortened
    const ev = (n: number, t: number, row: number) => ({ n, t, ms: t, row, k: 'send', c: 0, label: '', short: '', title: '', prio: 0 });
    const two: StData = {
      lifelines: [{ name: 'a', note: '' }, { name: 'b', note: '' }],
      events: [ev(0, 0, 0), ev(1, 30, 1), ev(0, 60, 2), ev(1, 90, 3)],
      arrows: [{ k: 'msg', a: 0, b: 1, c: 0, title: '' }, { k: 'msg', a: 2, b: 3, c: 0, title: '' }],
      bands: [], marks: [], start: 0, end: 90,
    };
    const s2 = R.scale(two, { mode: 'time', zoom: 4 });
    expect(s2.y(30) - s2.y(0)).toBeCloseTo(120, 5);
    expect(s2.y(60) - s2.y(30)).toBeLessThan(60);
    // monotonic, and t() inverts y()
    for (let t = 0; t < 3500; t += 37) {
      expect(s.y(t + 1)).toBeGreaterThanOrEqual(s.y(t));
      expect(s.t(s.y(t))).toBeCloseTo(t, 3);
    }
  });

  it('zoomFor gives the zoom at which a span fills the height', () => {
    const data = synthetic();
    const z = R.zoomFor(data, 'time', 500, 100, 102);
    const s = R.scale(data, { mode: 'time', zoom: z });
    expect(s.y(102) - s.y(100)).toBeCloseTo(500, 0);
    expect(R.scale(data, { mode: 'time', zoom: R.zoomFor(data, 'time', 600) }).height).toBeLessThanOrEqual(600);
  });

  it('draws arrows with heads, a lost message as a cross on its own path at its time, bands and marks', () => {
    const data = synthetic();
    const { svg, scale } = R.render(data, { mode: 'time', zoom: 5, width: 900 });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="space-time" data-mode="time" width="900"/);
    expect((svg.match(/<g class="arrow msg">/g) ?? []).length).toBe(9);
    expect((svg.match(/marker-end="url\(#st-m\d\)"/g) ?? []).length).toBe(9);
    const cross = /<g class="arrow msg lost">.*?<path class="cross" d="M([\d.]+),([\d.]+)L/.exec(svg)!;
    const x = Number(cross[1]) + 4;
    const y = Number(cross[2]) + 4;
    // between the two lifelines (not on one), at the time of the cut
    const lifelines = [...svg.matchAll(/<line class="lifeline" x1="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(x).toBeGreaterThan(lifelines[0]! + 20);
    expect(x).toBeLessThan(lifelines[1]! - 20);
    expect(y).toBeCloseTo(Math.max(scale.y(150), scale.y(100) + 6), 0);
    expect(svg).toContain('<rect class="band partition"');
    expect((svg.match(/<line class="mark /g) ?? []).length).toBe(2);
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it.each([
    ['time', 0.05],
    ['time', 5],
    ['time', 40],
    ['logical', 4],
    ['logical', 14],
  ] as const)('labels never overlap (%s view, zoom %d)', (mode, zoom) => {
    const { svg } = R.render(synthetic(), { mode, zoom, width: 700 });
    const boxes = labelBoxes(svg);
    expect(boxes.length).toBeGreaterThan(4);
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i]!;
        const b = boxes[j]!;
        const overlap = a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5;
        expect(overlap, `"${a.text}" and "${b.text}"`).toBe(false);
      }
    }
  });

  it('labels never cross a lifeline, on a real run', async () => {
    const data = reportData(await loadReportInput(path.join(DOCKER, 'partition-mid-run-r1')));
    for (const d of data.runs[0]!.diagrams) {
      for (const width of [700, 1400]) {
        const { svg } = R.render(d.data, { mode: 'time', zoom: R.defaultZoom(d.data, 'time'), width });
        const lifelines = [...svg.matchAll(/<line class="lifeline" x1="([\d.]+)"/g)].map((m) => Number(m[1]));
        for (const b of labelBoxes(svg).filter((l) => !/^[+−]/.test(l.text))) {
          for (const x of lifelines) expect(x > b.x0 && x < b.x1, `"${b.text}" crosses the lifeline at ${x}`).toBe(false);
        }
      }
    }
  });

  it('is self-contained: its source alone, evaluated, draws the same picture', () => {
    const again = new Function(`return (${spaceTimeRendererSource})();`)() as typeof R;
    const view = { mode: 'time' as const, zoom: 3, width: 800 };
    expect(again.render(synthetic(), view).svg).toBe(R.render(synthetic(), view).svg);
  });
});
