import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/common/index.js';
import { chooseCuts, expandNemesis, parseNemesis, PARTITION_NEMESES } from '../../../src/conditions/index.js';

const NODES = ['p1', 'p2', 'p3', 'p4', 'p5'];

describe('parseNemesis', () => {
  it.each([
    ['every 5s partition random-halves', { kind: 'partition', mode: 'random-halves', everyMs: 5000, fromMs: 0 }],
    ['every 2s partition isolate-one among p1,p2,p3 from 1s until 9s', { kind: 'partition', mode: 'isolate-one', everyMs: 2000, fromMs: 1000, untilMs: 9000, among: ['p1', 'p2', 'p3'] }],
    ['flap p1->p2 2s from 4s until 12s', { kind: 'flap', from: 'p1', to: 'p2', everyMs: 2000, fromMs: 4000, untilMs: 12000 }],
  ])('%s', (text, spec) => {
    expect(parseNemesis(text)).toEqual(spec);
  });

  it.each([
    ['every 5s partition halves', /"halves" is not a partition nemesis; allowed: random-halves, isolate-one, majority-ring, bridge/],
    ['every 10ms partition bridge', /period is at least 100ms/],
    ['every 5s partition bridge from 9s until 3s', /"until" \(3s\) must be after "from" \(9s\)/],
    ['every 5s partition bridge sometimes 3s', /"sometimes" is not an option of a nemesis/],
    ['flap p1->p1 2s', /two different nodes/],
    ['flap p1 2s', /write it like "flap a->b 2s"/],
    ['chaos', /unknown nemesis "chaos"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseNemesis(text)).toThrow(message);
  });
});

describe('the partitions a nemesis chooses', () => {
  const sees = (cuts: { from: string; to: string }[], a: string, b: string) => !cuts.some((c) => c.from === a && c.to === b);

  it('random-halves and isolate-one: groups that cut every pair across them', () => {
    const h = chooseCuts('random-halves', NODES, createRng(1));
    expect(h.groups!.map((g) => g.length).sort()).toEqual([2, 3]);
    expect(h.cuts).toHaveLength(2 * 2 * 3);
    const i = chooseCuts('isolate-one', NODES, createRng(1));
    expect(i.groups![0]).toHaveLength(1);
  });

  it('majority-ring: every node sees a majority, and no two the same one', () => {
    const { cuts } = chooseCuts('majority-ring', NODES, createRng(7));
    const views = NODES.map((a) => NODES.filter((b) => a === b || sees(cuts, a, b)).sort().join(','));
    for (const v of views) expect(v.split(',').length).toBeGreaterThanOrEqual(3);
    expect(new Set(views).size).toBe(NODES.length);
  });

  it('bridge: one node reaches both halves, the halves not each other', () => {
    const { cuts, groups } = chooseCuts('bridge', NODES, createRng(3));
    const bridge = groups![0]!.find((n) => groups![1]!.includes(n))!;
    for (const n of NODES) if (n !== bridge) expect(sees(cuts, bridge, n) && sees(cuts, n, bridge)).toBe(true);
    const [a, b] = groups!.map((g) => g.filter((n) => n !== bridge));
    for (const x of a!) for (const y of b!) expect(sees(cuts, x, y)).toBe(false);
  });

  it.each(PARTITION_NEMESES)('%s: the same seed chooses the same cuts', (mode) => {
    expect(chooseCuts(mode, NODES, createRng(42))).toEqual(chooseCuts(mode, NODES, createRng(42)));
  });
});

describe('expandNemesis', () => {
  it('one step per tick from `from`, then the step that ends it; all tagged with the nemesis', () => {
    const steps = expandNemesis(parseNemesis('every 2s partition random-halves from 1s until 7s'), 0, NODES, createRng(5), 20_000);
    expect(steps.map((s) => s.atMs)).toEqual([1000, 3000, 5000, 7000]);
    expect(steps.every((s) => s.action.tag === 'nemesis-1')).toBe(true);
    expect(steps.at(-1)!.action.cuts).toEqual([]);
    expect(steps[0]!.text).toMatch(/^at 1s every 2s partition random-halves: \S+ \| \S+$/);
  });

  it('a flap toggles its one-way cut, and stops at the end of the run', () => {
    const steps = expandNemesis(parseNemesis('flap p1->p2 1s'), 1, NODES, createRng(5), 3500);
    expect(steps.map((s) => [s.atMs, s.action.cuts.length])).toEqual([
      [0, 1],
      [1000, 0],
      [2000, 1],
      [3000, 0],
    ]);
    expect(steps[0]!.text).toBe('at 0ms flap p1->p2 1s: p1 -/-> p2');
  });
});
