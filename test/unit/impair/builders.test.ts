import { describe, expect, it } from 'vitest';
import { parseImpairment } from '../../../src/conditions/index.js';
import {
  EMPTY_STATE,
  allocateStages,
  applyOps,
  chainSetup,
  cutRules,
  decodeCutComment,
  decodeImpairComment,
  encodeImpairComment,
  expire,
  helperSeed,
  impairRules,
  needsClass,
  netemArgs,
  renderRestore,
  savedGenerations,
  switchBatch,
  tidyBatch,
  effectiveSave,
  parseIptablesSave,
  stageKey,
  stageSetup,
  tcStageClass,
  type NodeState,
} from '../../../src/impair/index.js';

const imp = (i: Parameters<typeof parseImpairment>[0]) => parseImpairment(i);
const ADDR = { n1: ['10.9.0.2'], n2: ['10.9.0.3'], n3: ['10.9.0.4', '10.8.0.4'] };

describe('netemArgs', () => {
  it.each([
    [{ delay: '50ms' }, ['delay', '50ms']],
    [{ delay: '100ms', jitter: '10ms' }, ['delay', '100ms', '10ms', 'distribution', 'normal']],
    [{ delay: '100ms', jitter: '10ms', delayCorrelation: '25%', distribution: 'pareto' }, ['delay', '100ms', '10ms', '25%', 'distribution', 'pareto']],
    [{ loss: '5%' }, ['loss', 'random', '5%']],
    [{ loss: '5%', lossCorrelation: '30%' }, ['loss', 'random', '5%', '30%']],
    [{ duplicate: '1%', corrupt: '0.5%' }, ['duplicate', '1%', 'corrupt', '0.5%']],
    [{ delay: '10ms', reorder: '25%' }, ['delay', '10ms', 'reorder', '25%']],
    [{ rate: '1mbit' }, []],
  ])('%j → %j', (input, args) => {
    expect(netemArgs(imp(input))).toEqual(args);
  });
});

describe('tc stage classes', () => {
  it.each([
    ['netem: delay gets a class with a netem leaf', { delay: '50ms', loss: '1%' }, 'netem', [
      ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1a', 'htb', 'rate', '10gbit', 'ceil', '10gbit'],
      ['tc', 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:1a', 'handle', '1a:', 'netem', 'delay', '50ms', 'loss', 'random', '1%'],
    ]],
    ['a rate is the class rate, no leaf', { rate: '1mbit' }, 'netem', [
      ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1a', 'htb', 'rate', '1mbit', 'ceil', '1mbit'],
    ]],
    ['userspace: delay and rate: only the rate class (the helper delays)', { delay: '5ms', rate: '10mbit' }, 'userspace', [
      ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1a', 'htb', 'rate', '10mbit', 'ceil', '10mbit'],
    ]],
  ] as const)('%s', (_n, input, backend, expected) => {
    expect(tcStageClass('eth0', 0x1a, imp(input), backend)).toEqual(expected);
  });

  it('needs a class for a rate, or for a packet stage on netem only', () => {
    expect(needsClass(imp({ delay: '5ms' }), 'netem')).toBe(true);
    expect(needsClass(imp({ delay: '5ms' }), 'userspace')).toBe(false);
    expect(needsClass(imp({ rate: '1mbit' }), 'userspace')).toBe(true);
  });
});

describe('iptables rules', () => {
  const c3 = 'acklab impair to=n3 delay=50ms jitter=5ms';
  it('per destination: class rule with the record, queue rule with a note, RETURN per address; "*" last without RETURN', () => {
    const rules = impairRules([
      { to: '*', addresses: [], record: 'acklab impair to=* loss=3%', queue: 102 },
      { to: 'n3', addresses: ['10.9.0.4', '10.8.0.4'], record: c3, classMinor: 0x10, queue: 100 },
    ]);
    const chain = ['-A', 'ACKLAB-IMPAIR', '!', '-o', 'lo'];
    expect(rules).toEqual([
      [...chain, '-d', '10.9.0.4/32', '-m', 'comment', '--comment', c3, '-j', 'CLASSIFY', '--set-class', '1:10'],
      [...chain, '-d', '10.9.0.4/32', '-m', 'mark', '!', '--mark', '0x4acc', '-m', 'comment', '--comment', 'acklab queue to=n3', '-j', 'NFQUEUE', '--queue-num', '100'],
      [...chain, '-d', '10.9.0.4/32', '-j', 'RETURN'],
      [...chain, '-d', '10.8.0.4/32', '-m', 'comment', '--comment', c3, '-j', 'CLASSIFY', '--set-class', '1:10'],
      [...chain, '-d', '10.8.0.4/32', '-m', 'mark', '!', '--mark', '0x4acc', '-m', 'comment', '--comment', 'acklab queue to=n3', '-j', 'NFQUEUE', '--queue-num', '100'],
      [...chain, '-d', '10.8.0.4/32', '-j', 'RETURN'],
      [...chain, '-m', 'mark', '!', '--mark', '0x4acc', '-m', 'comment', '--comment', 'acklab impair to=* loss=3%', '-j', 'NFQUEUE', '--queue-num', '102'],
    ]);
  });

  it.each([
    ['drop, sender side', { from: 'n1', to: 'n2', style: 'drop' }, 'from', [['-A', 'ACKLAB-PART-OUT', '-d', '10.9.0.3/32', '-m', 'comment', '--comment', 'acklab cut n1->n2 drop', '-j', 'DROP']]],
    ['drop, receiver side', { from: 'n1', to: 'n2', style: 'drop' }, 'to', [['-A', 'ACKLAB-PART-IN', '-s', '10.9.0.3/32', '-m', 'comment', '--comment', 'acklab cut n1->n2 drop', '-j', 'DROP']]],
    [
      'reset, sender side',
      { from: 'n1', to: 'n2', style: 'reset' },
      'from',
      [
        ['-A', 'ACKLAB-PART-OUT', '-d', '10.9.0.3/32', '-p', 'tcp', '-m', 'comment', '--comment', 'acklab cut n1->n2 reset', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
        ['-A', 'ACKLAB-PART-OUT', '-d', '10.9.0.3/32', '-m', 'comment', '--comment', 'acklab cut n1->n2 reset', '-j', 'DROP'],
      ],
    ],
  ] as const)('cutRules %s', (_n, cut, side, expected) => {
    expect(cutRules({ ...cut }, side, ['10.9.0.3'])).toEqual(expected);
  });

  it('a switch only adds: the generation\'s chains, filled, and a goto to each first in its hooked chain; comments are quoted', () => {
    const batch = switchBatch(
      [['-A', 'ACKLAB-IMPAIR', '!', '-o', 'lo', '-m', 'comment', '--comment', 'acklab impair to=* loss=3%', '-j', 'RETURN']],
      [...cutRules({ from: 'n1', to: 'n2', style: 'drop' }, 'from', ['10.9.0.3']), ...cutRules({ from: 'n2', to: 'n1', style: 'drop' }, 'to', ['10.9.0.3'])],
      7,
    );
    expect(batch.split('\n')).toEqual([
      '*mangle',
      ':ACKLAB-IMPAIR-7 - [0:0]',
      '-A ACKLAB-IMPAIR-7 ! -o lo -m comment --comment "acklab impair to=* loss=3%" -j RETURN',
      '-I ACKLAB-IMPAIR 1 -g ACKLAB-IMPAIR-7',
      'COMMIT',
      '*filter',
      ':ACKLAB-PART-OUT-7 - [0:0]',
      '-A ACKLAB-PART-OUT-7 -d 10.9.0.3/32 -m comment --comment "acklab cut n1->n2 drop" -j DROP',
      ':ACKLAB-PART-IN-7 - [0:0]',
      '-A ACKLAB-PART-IN-7 -s 10.9.0.3/32 -m comment --comment "acklab cut n2->n1 drop" -j DROP',
      '-I ACKLAB-PART-OUT 1 -g ACKLAB-PART-OUT-7',
      '-I ACKLAB-PART-IN 1 -g ACKLAB-PART-IN-7',
      'COMMIT',
      '',
    ]);
    // nothing in it deletes (deleting is what waits for the kernel)
    expect(batch).not.toMatch(/^(-D|-F|-X|:ACKLAB-(IMPAIR|PART-OUT|PART-IN) )/m);
  });

  it('a tidy leaves each hooked chain with the current goto and deletes the stale generations', () => {
    expect(tidyBatch(9, [7, 8]).split('\n')).toEqual([
      '*mangle',
      ':ACKLAB-IMPAIR - [0:0]',
      '-A ACKLAB-IMPAIR -g ACKLAB-IMPAIR-9',
      ':ACKLAB-IMPAIR-7 - [0:0]',
      '-X ACKLAB-IMPAIR-7',
      ':ACKLAB-IMPAIR-8 - [0:0]',
      '-X ACKLAB-IMPAIR-8',
      'COMMIT',
      '*filter',
      ':ACKLAB-PART-OUT - [0:0]',
      '-A ACKLAB-PART-OUT -g ACKLAB-PART-OUT-9',
      ':ACKLAB-PART-IN - [0:0]',
      '-A ACKLAB-PART-IN -g ACKLAB-PART-IN-9',
      ':ACKLAB-PART-OUT-7 - [0:0]',
      '-X ACKLAB-PART-OUT-7',
      ':ACKLAB-PART-OUT-8 - [0:0]',
      '-X ACKLAB-PART-OUT-8',
      ':ACKLAB-PART-IN-7 - [0:0]',
      '-X ACKLAB-PART-IN-7',
      ':ACKLAB-PART-IN-8 - [0:0]',
      '-X ACKLAB-PART-IN-8',
      'COMMIT',
      '',
    ]);
    // none current (a namespace an earlier agent left): the hooked chains empty, every generation gone
    expect(tidyBatch(null, [3])).toContain(':ACKLAB-PART-OUT - [0:0]\n:ACKLAB-PART-IN - [0:0]\n:ACKLAB-PART-OUT-3 - [0:0]');
    expect(tidyBatch(null, [3])).not.toContain('-g ');
  });

  it('read-back sees the rules of the generation the first goto names, as the hooked chain\'s own', () => {
    const save = [
      '*filter',
      ':ACKLAB-PART-OUT - [0:0]',
      ':ACKLAB-PART-OUT-4 - [0:0]',
      ':ACKLAB-PART-OUT-5 - [0:0]',
      '[9:900] -A OUTPUT -j ACKLAB-PART-OUT',
      '[3:300] -A ACKLAB-PART-OUT -g ACKLAB-PART-OUT-5',
      '[6:600] -A ACKLAB-PART-OUT -g ACKLAB-PART-OUT-4',
      '[6:600] -A ACKLAB-PART-OUT-4 -d 10.9.0.9/32 -m comment --comment "acklab cut n1->n9 drop" -j DROP',
      '[3:300] -A ACKLAB-PART-OUT-5 -d 10.9.0.3/32 -m comment --comment "acklab cut n1->n2 drop" -j DROP',
      'COMMIT',
    ].join('\n');
    expect(effectiveSave(save)).toEqual([
      '*filter',
      ':ACKLAB-PART-OUT - [0:0]',
      '[9:900] -A OUTPUT -j ACKLAB-PART-OUT',
      '[3:300] -A ACKLAB-PART-OUT -d 10.9.0.3/32 -m comment --comment "acklab cut n1->n2 drop" -j DROP',
      'COMMIT',
    ]);
    expect(parseIptablesSave(save, 'n1').cuts).toEqual([{ from: 'n1', to: 'n2', style: 'drop', side: 'from', packets: 3 }]);
    expect(savedGenerations(save)).toEqual([4, 5]);
  });

  it('the chains are hooked first in their base chains, once', () => {
    expect(chainSetup().map((a) => a.slice(3).join(' '))).toEqual([
      '-t mangle -N ACKLAB-IMPAIR',
      '-t mangle -A POSTROUTING -j ACKLAB-IMPAIR',
      '-N ACKLAB-PART-OUT',
      '-N ACKLAB-PART-IN',
      '-I OUTPUT 1 -j ACKLAB-PART-OUT',
      '-I INPUT 1 -j ACKLAB-PART-IN',
    ]);
  });
});

describe('node state', () => {
  const d50 = imp({ delay: '50ms' });
  const cutAB = { from: 'n1', to: 'n2', style: 'drop' as const };

  it('impair replaces the condition towards the same peer; heal-node removes what involves a node', () => {
    let s = applyOps(EMPTY_STATE, [{ op: 'impair', to: 'n2', impairment: d50 }, { op: 'impair', to: 'n3', impairment: d50 }], 'n1');
    s = applyOps(s, [{ op: 'impair', to: 'n2', impairment: imp({ loss: '5%' }) }], 'n1');
    expect(s.impairments.map((i) => `${i.to} ${i.impairment.lossPct}`)).toEqual(['n3 0', 'n2 5']);
    s = applyOps(s, [{ op: 'cut', cut: cutAB, side: 'from' }, { op: 'cut', cut: { from: 'n3', to: 'n1', style: 'drop' }, side: 'to' }], 'n1');
    expect(applyOps(s, [{ op: 'heal-node', node: 'n2' }], 'n1')).toEqual({ impairments: [s.impairments[0]], cuts: [s.cuts[1]] });
    expect(applyOps(s, [{ op: 'heal-node', node: 'n1' }], 'n1')).toEqual({ impairments: [], cuts: [] });
    expect(applyOps(s, [{ op: 'heal' }], 'n1')).toEqual({ impairments: [], cuts: [] });
  });

  it('a tag lets a nemesis replace its own cuts and leave the others', () => {
    const s = applyOps(EMPTY_STATE, [
      { op: 'cut', cut: cutAB, side: 'from' },
      { op: 'cut', cut: { from: 'n1', to: 'n3', style: 'drop' }, side: 'from', tag: 'nemesis-1' },
    ], 'n1');
    expect(applyOps(s, [{ op: 'uncut', tag: 'nemesis-1' }], 'n1').cuts.map((c) => c.to)).toEqual(['n2']);
  });

  it('entries lapse at their untilMs; the next lapse time is reported', () => {
    const s: NodeState = {
      impairments: [{ to: 'n2', impairment: d50, untilMs: 1000 }, { to: 'n3', impairment: d50 }],
      cuts: [{ ...cutAB, side: 'from', untilMs: 2000 }],
    };
    expect(expire(s, 500)).toEqual({ state: s, lapsed: false, nextMs: 1000 });
    const later = expire(s, 1500);
    expect(later.lapsed).toBe(true);
    expect(later.state.impairments.map((i) => i.to)).toEqual(['n3']);
    expect(later.nextMs).toBe(2000);
    expect(expire(later.state, 2000)).toMatchObject({ lapsed: true, state: { cuts: [] } });
  });

  it('stages are keyed by (destination, impairment): reused, and new ones never take a taken class or queue', () => {
    const a = applyOps(EMPTY_STATE, [{ op: 'impair', to: 'n2', impairment: imp({ delay: '5ms', rate: '1mbit' }) }], 'n1');
    const b = applyOps(a, [{ op: 'impair', to: 'n2', impairment: imp({ delay: '9ms', rate: '1mbit' }) }], 'n1');
    const first = allocateStages([a], new Map(), 'userspace');
    const both = allocateStages([a, b], first, 'userspace');
    const [s1, s2] = [...both.values()];
    expect(s1).toBe(first.get(stageKey('n2', a.impairments[0]!.impairment)));
    expect(s1).toMatchObject({ classMinor: 0x10, queue: 100 });
    expect(s2).toMatchObject({ classMinor: 0x11, queue: 101 });
  });

  it('renders a state to one batch that names every peer address', () => {
    const s = applyOps(EMPTY_STATE, [
      { op: 'impair', to: 'n3', impairment: d50 },
      { op: 'cut', cut: { from: 'n2', to: 'n1', style: 'drop' }, side: 'to' },
    ], 'n1');
    const stages = allocateStages([s], new Map(), 'netem');
    const batch = renderRestore(s, stages, ADDR, 2);
    expect(batch).toContain('-A ACKLAB-IMPAIR-2 ! -o lo -d 10.8.0.4/32 -m comment --comment "acklab impair to=n3 delay=50ms" -j CLASSIFY --set-class 1:10');
    expect(batch).toContain('-A ACKLAB-PART-IN-2 -s 10.9.0.3/32 -m comment --comment "acklab cut n2->n1 drop" -j DROP');
    expect(() => renderRestore(s, new Map(), ADDR, 2)).toThrow(/no stage for n3\|delay=50ms/);
  });

  it('a run seed gives every helper a replayable seed of its own', () => {
    const s = applyOps(EMPTY_STATE, [{ op: 'impair', to: 'n2', impairment: imp({ loss: '10%' }) }, { op: 'impair', to: 'n3', impairment: imp({ loss: '10%' }) }], 'n1');
    const seeds = (seed?: number) =>
      [...allocateStages([s], new Map(), 'userspace').values()].map((st) => {
        const argv = stageSetup(st, ['eth0'], 'userspace', 'n1', seed).helper!;
        const i = argv.indexOf('--seed');
        return i < 0 ? undefined : argv[i + 1];
      });
    expect(seeds()).toEqual([undefined, undefined]);
    const [a, b] = seeds(42);
    expect(a).toBe(String(helperSeed(42, 'n1', 'n2')));
    expect(a).not.toBe(b);
    expect(seeds(42)).toEqual([a, b]);
    expect(seeds(43)).not.toEqual([a, b]);
  });
});

describe('comment round trip', () => {
  it.each([
    [{ delay: '50ms' }],
    [{ delay: '1.5s', jitter: '250us', distribution: 'paretonormal' }],
    [{ loss: '0.5%', lossCorrelation: '25%', duplicate: '1%', corrupt: '2%' }],
    [{ delay: '10ms', reorder: '5%', rate: '1500kbit' }],
  ])('%j', (input) => {
    const i = imp(input);
    expect(decodeImpairComment(encodeImpairComment('n2', i))).toEqual({ to: 'n2', impairment: i });
  });
  it('cut', () => {
    expect(decodeCutComment('acklab cut a->b reset')).toEqual({ from: 'a', to: 'b', style: 'reset' });
    expect(decodeCutComment('something else')).toBeUndefined();
  });
});
