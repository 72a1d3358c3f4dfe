import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEvents, type TimedEvent } from '../../../src/results/index.js';
import { escapeXml, layoutRows, renderSpaceTimeSvg, spaceTimeModel, type SpaceTimeNodeInput } from '../../../src/report/space-time.js';

const RUN = path.resolve(import.meta.dirname, '../../fixtures/runs/docker-sweep/partition-mid-run-r1');
const fixtureNodes = (): SpaceTimeNodeInput[] =>
  [1, 2, 3].map((id) => ({ name: `p${id}`, id, events: parseEvents(readFileSync(path.join(RUN, 'nodes', `p${id}`, 'events.ndjson'), 'utf8')).events }));

/** Two peers, one message from a, ACKed by b, delivered by both; times as given. */
function twoPeers(t: { send: number; recv: number; ackRecv?: number; deliverA?: number; deliverB: number }): SpaceTimeNodeInput[] {
  const a: TimedEvent[] = [{ ts: t.send, event: 'mcast_sent', lamport: 1, seq: 1 }];
  if (t.ackRecv !== undefined) a.push({ ts: t.ackRecv, event: 'mcast_ack', from: 2, sender: 1, seq: 1, lamport: 3 });
  if (t.deliverA !== undefined) a.push({ ts: t.deliverA, event: 'delivered', lamport: 1, sender: 1, seq: 1, position: 1 });
  const b: TimedEvent[] = [
    { ts: t.recv, event: 'mcast_received', lamport: 1, sender: 1, seq: 1 },
    { ts: t.deliverB, event: 'delivered', lamport: 1, sender: 1, seq: 1, position: 1 },
  ];
  return [
    { name: 'a', id: 1, events: a },
    { name: 'b', id: 2, events: b },
  ];
}

describe('space-time model', () => {
  it('matches every message and ACK of a message to its send', () => {
    const model = spaceTimeModel(twoPeers({ send: 100, recv: 100, ackRecv: 101, deliverA: 101, deliverB: 100 }));
    expect(model.arrows).toEqual([
      { kind: 'msg', from: 'a', to: 'b', sender: 1, seq: 1, send: 0, receive: 3 },
      { kind: 'ack', from: 'b', to: 'a', sender: 1, seq: 1, send: 3, receive: 1 },
    ]);
    expect(model.counts).toEqual({ messages: 1, acks: 1, deliveries: 2, notReceived: 0, receivedBeforeSent: 0 });
    expect(model.problems).toEqual([]);
  });

  it('keeps a message that was never received, as such', () => {
    const nodes = twoPeers({ send: 100, recv: 100, deliverB: 100 });
    nodes[1]!.events = [];
    const model = spaceTimeModel(nodes);
    expect(model.arrows).toEqual([{ kind: 'msg', from: 'a', to: 'b', sender: 1, seq: 1, send: 0, receive: null }]);
    expect(model.counts.notReceived).toBe(1);
  });

  it('says when receives have no send to match (sender events missing)', () => {
    const nodes = twoPeers({ send: 100, recv: 105, deliverB: 106 });
    nodes[0]!.events = [];
    expect(spaceTimeModel(nodes).problems).toEqual([
      "1 message receive(s) have no mcast_sent event (the sender's events are missing or cut short); drawn without an arrow",
    ]);
  });

  it('counts the 3 × 20 messages and ACKs of a real run', () => {
    const model = spaceTimeModel(fixtureNodes());
    // 60 multicasts to 2 peers each; 120 receipts, each ACKed to the 2 other peers
    expect(model.arrows.filter((a) => a.kind === 'msg')).toHaveLength(120);
    expect(model.arrows.filter((a) => a.kind === 'ack')).toHaveLength(240);
    expect(model.counts).toMatchObject({ messages: 120, acks: 240, deliveries: 180, notReceived: 0 });
  });
});

describe('layout rows', () => {
  it('puts a receive of the same ms below its send, and a later ms below everything earlier', () => {
    const model = spaceTimeModel(twoPeers({ send: 100, recv: 100, ackRecv: 100, deliverA: 100, deliverB: 130 }));
    const rows = layoutRows(model);
    const [send, ackRecv, deliverA, recv, deliverB] = rows;
    expect(recv).toBeGreaterThan(send!);
    expect(ackRecv).toBeGreaterThan(recv!); // the ACK is sent at b's receive
    expect(deliverA).toBeGreaterThan(ackRecv!);
    expect(deliverB).toBeGreaterThan(Math.max(send!, ackRecv!, deliverA!, recv!));
  });

  it('is monotonic in time and one event per node per row on a real run', () => {
    const model = spaceTimeModel(fixtureNodes());
    const rows = layoutRows(model);
    const byTs = model.events.map((e) => [e.ts, rows[e.index]!] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < byTs.length; i++) if (byTs[i]![0] > byTs[i - 1]![0]) expect(byTs[i]![1]).toBeGreaterThan(byTs[i - 1]![1]);
    const seen = new Set(model.events.map((e) => `${e.node}@${rows[e.index]}`));
    expect(seen.size).toBe(model.events.length);
    for (const a of model.arrows) {
      if (a.receive !== null && model.events[a.receive]!.ts >= model.events[a.send]!.ts) expect(rows[a.receive]).toBeGreaterThan(rows[a.send]!);
    }
  });
});

describe('space-time SVG', () => {
  it('draws one arrow per message and ACK, a dot per delivery, and pages long runs', () => {
    const model = spaceTimeModel(fixtureNodes());
    const t0 = JSON.parse(readFileSync(path.join(RUN, 'manifest.json'), 'utf8')).t0 as number;
    const pages = renderSpaceTimeSvg(model, { t0, rowsPerPage: 100, partitions: [{ fromTs: t0 + 5000, toTs: t0 + 11000, text: 'partition' }, { fromTs: t0 + 11000, toTs: t0 + 11001, text: 'healing', changing: true }] });
    const rows = Math.max(...layoutRows(model)) + 1;
    expect(pages).toHaveLength(Math.ceil(rows / 100));
    expect(pages.map((p) => p.fromRow)).toEqual(pages.map((_, i) => i * 100));
    const all = pages.map((p) => p.svg).join('\n');
    // an arrow crossing a page boundary is drawn (clipped) on both pages, so count per page by its own rows
    const count = (re: RegExp) => (all.match(re) ?? []).length;
    expect(count(/<circle class="deliver"/g)).toBe(180);
    expect(count(/<circle class="send"/g)).toBe(60);
    expect(count(/class="arrow msg"/g)).toBeGreaterThanOrEqual(120);
    expect(count(/class="arrow ack"/g)).toBeGreaterThanOrEqual(240);
    expect(count(/<rect class="partition"/g)).toBeGreaterThanOrEqual(1);
    expect(count(/<rect class="partition changing"/g)).toBeGreaterThanOrEqual(1);
    expect(all).not.toMatch(/NaN|undefined/);
    for (const p of pages) expect(p.svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="space-time" width="\d+" height="\d+"/);
  });

  it('stops at maxPages and says how many rows there were', () => {
    const model = spaceTimeModel(fixtureNodes());
    const pages = renderSpaceTimeSvg(model, { t0: 0, rowsPerPage: 50, maxPages: 2 });
    expect(pages.map((p) => [p.fromRow, p.toRow])).toEqual([
      [0, 49],
      [50, 99],
    ]);
    expect(pages[1]!.totalRows).toBe(Math.max(...layoutRows(model)) + 1);
    expect(pages[1]!.totalRows).toBeGreaterThan(100);
  });

  it('draws a never-received message as a red dashed stub', () => {
    const nodes = twoPeers({ send: 100, recv: 100, deliverB: 100 });
    nodes[1]!.events = [];
    const [page] = renderSpaceTimeSvg(spaceTimeModel(nodes), { t0: 0 });
    expect(page!.svg).toContain('class="arrow lost msg"');
    expect(page!.svg).toContain('never received by b');
  });

  it('escapes text', () => {
    expect(escapeXml('a<b & "c">')).toBe('a&lt;b &amp; &quot;c&quot;&gt;');
  });
});
