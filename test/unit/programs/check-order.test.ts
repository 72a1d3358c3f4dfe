import { describe, expect, it } from 'vitest';
import { checkOrder, parseDelivered, type DeliveredRecord } from '../../../src/programs/mcast/index.js';

const rec = (lamport: number, sender: number, seq: number): DeliveredRecord => ({ lamport, sender, seq, deliveredAt: 1000 + lamport });
const base = [rec(1, 1, 1), rec(1, 2, 1), rec(3, 3, 1), rec(5, 1, 2)];

describe('checkOrder', () => {
  it('accepts identical sequences', () => {
    const r = checkOrder([
      { name: 'a', records: base },
      { name: 'b', records: base.map((x) => ({ ...x, deliveredAt: x.deliveredAt + 7 })) },
      { name: 'c', records: base },
    ], { expected: 4 });
    expect(r).toEqual({ ok: true, length: 4, problems: [] });
  });

  it('names the first divergence when two peers swap messages', () => {
    const swapped = [base[0]!, base[2]!, base[1]!, base[3]!];
    const r = checkOrder([{ name: 'a', records: base }, { name: 'b', records: swapped }]);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toBe('first divergence at position 2: a has (lamport=1, sender=2, seq=1) but b has (lamport=3, sender=3, seq=1)');
  });

  it('names a missing tail', () => {
    const r = checkOrder([{ name: 'a', records: base }, { name: 'b', records: base.slice(0, 3) }]);
    expect(r.problems[0]).toMatch(/position 4: a has \(lamport=5, sender=1, seq=2\) but b has nothing \(it ends after 3 deliveries\)/);
  });

  it('catches a message delivered twice', () => {
    const r = checkOrder([{ name: 'a', records: [...base, rec(5, 1, 2)] }]);
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(/a: message \(sender=1, seq=2\) delivered twice, at positions 4 and 5/);
  });

  it('catches delivery out of (timestamp, sender) order even when all files agree', () => {
    const bad = [rec(2, 1, 1), rec(1, 2, 1)];
    const r = checkOrder([{ name: 'a', records: bad }, { name: 'b', records: bad }]);
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatch(/a: position 2 \(lamport=1, sender=2, seq=1\) is not after position 1/);
  });

  it('checks the expected count', () => {
    expect(checkOrder([{ name: 'a', records: base }], { expected: 6 }).problems).toEqual(['a: 4 deliveries, expected 6']);
  });

  it('fails on no input', () => {
    expect(checkOrder([]).ok).toBe(false);
  });
});

describe('parseDelivered', () => {
  it('parses lines and skips blanks', () => {
    expect(parseDelivered('{"lamport":1,"sender":2,"seq":1,"deliveredAt":5}\n\n')).toEqual([{ lamport: 1, sender: 2, seq: 1, deliveredAt: 5 }]);
  });

  it('names file, line and field on bad input', () => {
    expect(() => parseDelivered('{"lamport":1,"sender":2,"seq":1,"deliveredAt":5}\n{"lamport":1,"sender":-2,"seq":1,"deliveredAt":5}', 'd1.jsonl')).toThrow(
      /^d1\.jsonl:2: field "sender" must be a non-negative integer \(got -2\)/,
    );
    expect(() => parseDelivered('oops', 'd2.jsonl')).toThrow(/^d2\.jsonl:1: not JSON/);
  });
});
