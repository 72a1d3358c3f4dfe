import { describe, expect, it } from 'vitest';
import { LamportClock, TotalOrderQueue, compareMessages, type McastMessage } from '../../../src/programs/mcast/total-order.js';
import { decode } from '../../../src/programs/mcast/protocol.js';

describe('LamportClock', () => {
  it('ticks on local/send events', () => {
    const c = new LamportClock();
    expect(c.tick()).toBe(1);
    expect(c.tick()).toBe(2);
  });

  it('jumps past a larger remote timestamp on receive', () => {
    const c = new LamportClock(3);
    expect(c.receive(10)).toBe(11);
  });

  it('still advances on receive of a smaller timestamp', () => {
    const c = new LamportClock(10);
    expect(c.receive(2)).toBe(11);
  });

  it('stamps an ack after a receive strictly above the message timestamp', () => {
    const c = new LamportClock(0);
    c.receive(7);
    expect(c.tick()).toBeGreaterThan(7);
  });
});

describe('compareMessages', () => {
  it('orders by timestamp, then sender id', () => {
    const msgs: McastMessage[] = [
      { ts: 2, sender: 1, seq: 1 },
      { ts: 1, sender: 3, seq: 1 },
      { ts: 1, sender: 2, seq: 1 },
    ];
    expect([...msgs].sort(compareMessages).map((m) => `${m.ts}/${m.sender}`)).toEqual(['1/2', '1/3', '2/1']);
  });
});

describe('TotalOrderQueue', () => {
  const group = [1, 2, 3];

  it('does not deliver the head until every peer other than its sender has acked', () => {
    const q = new TotalOrderQueue(group);
    q.add({ ts: 1, sender: 1, seq: 1 });
    expect(q.takeDeliverable()).toEqual([]);
    q.ack(2, 1, 1);
    expect(q.takeDeliverable()).toEqual([]);
    expect(q.missingAcks({ ts: 1, sender: 1, seq: 1 })).toEqual([3]);
    q.ack(3, 1, 1);
    expect(q.takeDeliverable()).toEqual([{ ts: 1, sender: 1, seq: 1 }]);
  });

  it('does not deliver a fully acked message that is not at the head', () => {
    const q = new TotalOrderQueue(group);
    q.add({ ts: 5, sender: 2, seq: 1 });
    q.add({ ts: 3, sender: 3, seq: 1 });
    q.ack(1, 2, 1);
    q.ack(3, 2, 1);
    expect(q.takeDeliverable()).toEqual([]);
    const pending = q.pending();
    expect(pending.map((p) => p.sender)).toEqual([3, 2]);
    expect(pending[1]!.why).toMatch(/fully acked, waiting behind \(ts=3, sender=3, seq=1\)/);
    expect(pending[0]!.why).toMatch(/missing acks from peer\(s\) 1, 2/);
    q.ack(1, 3, 1);
    q.ack(2, 3, 1);
    expect(q.takeDeliverable().map((m) => m.sender)).toEqual([3, 2]);
  });

  it('breaks timestamp ties by sender id', () => {
    const q = new TotalOrderQueue(group);
    for (const sender of [3, 1, 2]) q.add({ ts: 4, sender, seq: 1 });
    for (const sender of group) for (const from of group) if (from !== sender) q.ack(from, sender, 1);
    expect(q.takeDeliverable().map((m) => m.sender)).toEqual([1, 2, 3]);
  });

  it('keeps acks that arrive before their message', () => {
    const q = new TotalOrderQueue(group);
    q.ack(2, 1, 1);
    q.ack(3, 1, 1);
    q.add({ ts: 1, sender: 1, seq: 1 });
    expect(q.takeDeliverable()).toHaveLength(1);
  });

  it('rejects duplicate messages and duplicate acks, and never delivers twice', () => {
    const q = new TotalOrderQueue(group);
    expect(q.add({ ts: 1, sender: 1, seq: 1 })).toBe('added');
    expect(q.add({ ts: 1, sender: 1, seq: 1 })).toBe('duplicate');
    expect(q.ack(2, 1, 1)).toBe(true);
    expect(q.ack(2, 1, 1)).toBe(false);
    q.ack(3, 1, 1);
    expect(q.takeDeliverable()).toHaveLength(1);
    expect(q.add({ ts: 1, sender: 1, seq: 1 })).toBe('already-delivered');
    expect(q.takeDeliverable()).toEqual([]);
    expect(q.deliveredCount).toBe(1);
  });

  it('a message that arrives later with a smaller (ts, id) is delivered first when acks gate correctly', () => {
    // Peer 1's view: its own m(ts=5) is queued; peer 2's ack of it (ts 7) arrives, but peer 3 has not
    // acked. Then peer 3's earlier m(ts=4) arrives (FIFO: before 3's ack of ours) and must go first.
    const q = new TotalOrderQueue(group);
    q.add({ ts: 5, sender: 1, seq: 1 });
    q.ack(2, 1, 1);
    expect(q.takeDeliverable()).toEqual([]);
    q.add({ ts: 4, sender: 3, seq: 1 });
    q.ack(1, 3, 1);
    q.ack(2, 3, 1);
    q.ack(3, 1, 1);
    expect(q.takeDeliverable().map((m) => m.sender)).toEqual([3, 1]);
  });

  it('a single-member group delivers its own messages at once', () => {
    const q = new TotalOrderQueue([7]);
    q.add({ ts: 1, sender: 7, seq: 1 });
    expect(q.takeDeliverable()).toHaveLength(1);
  });
});

describe('mcast wire decode', () => {
  it.each([
    ['{"type":"msg","ts":3,"sender":1,"seq":2}', true, ''],
    ['{"type":"ack","ts":4,"from":2,"sender":1,"seq":2}', true, ''],
    ['not json', false, /not JSON/],
    ['[1,2]', false, /not a JSON object/],
    ['{"type":"nope"}', false, /field "type" must be one of hello, ready, msg, ack, bye/],
    ['{"type":"msg","ts":"3","sender":1,"seq":2}', false, /msg: field "ts" must be a non-negative integer \(got "3"\)/],
    ['{"type":"ack","ts":4,"sender":1,"seq":2}', false, /field "from"/],
    ['{"type":"msg","ts":3,"sender":1,"seq":0}', false, /seq" starts at 1/],
  ])('%s → ok=%s', (line, ok, reason) => {
    const r = decode(line);
    expect(r.ok).toBe(ok);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});
