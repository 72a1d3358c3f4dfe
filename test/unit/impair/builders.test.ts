import { describe, expect, it } from 'vitest';
import {
  type NodeAddressing,
  buildImpairRules,
  buildTcTree,
  cutRules,
  decodeCutComment,
  decodeImpairComment,
  encodeImpairComment,
  helperStart,
  netemArgs,
  planCuts,
  planImpairments,
  helperSeed,
  planImpairTeardown,
} from '../../../src/impair/index.js';
import { parseImpairment } from '../../../src/conditions/index.js';

const LAB: NodeAddressing[] = [
  { name: 'n1', addresses: ['10.9.0.2'] },
  { name: 'n2', addresses: ['10.9.0.3'] },
  { name: 'n3', addresses: ['10.9.0.4', '10.8.0.4'] },
];
const imp = (i: Parameters<typeof parseImpairment>[0]) => parseImpairment(i);

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

describe('buildTcTree', () => {
  const d50 = { to: 'n2', addresses: ['10.9.0.3'], impairment: imp({ delay: '50ms', loss: '1%' }) };
  const rate = { to: 'n3', addresses: ['10.9.0.4', '10.8.0.4'], impairment: imp({ rate: '1mbit' }) };
  const all = { to: '*', addresses: [], impairment: imp({ delay: '5ms', rate: '10mbit' }) };

  it.each([
    [
      'netem: delay to one peer',
      [d50],
      'netem',
      [
        ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '1'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '10gbit', 'ceil', '10gbit'],
        ['tc', 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:10', 'handle', '10:', 'netem', 'delay', '50ms', 'loss', 'random', '1%'],
        ['tc', 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.9.0.3/32', 'flowid', '1:10'],
      ],
    ],
    [
      'netem: "*" goes last with prio 2, rate-only peer has no netem leaf, one filter per address',
      [all, rate],
      'netem',
      [
        ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '1'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit', 'ceil', '1mbit'],
        ['tc', 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.9.0.4/32', 'flowid', '1:10'],
        ['tc', 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.8.0.4/32', 'flowid', '1:10'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:11', 'htb', 'rate', '10mbit', 'ceil', '10mbit'],
        ['tc', 'qdisc', 'add', 'dev', 'eth0', 'parent', '1:11', 'handle', '11:', 'netem', 'delay', '5ms'],
        ['tc', 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '2', 'u32', 'match', 'ip', 'dst', '0.0.0.0/0', 'flowid', '1:11'],
      ],
    ],
    ['userspace: delay only needs no tc at all', [d50], 'userspace', []],
    [
      'userspace: only the rate classes, no netem',
      [d50, rate],
      'userspace',
      [
        ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '1'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '10gbit'],
        ['tc', 'class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:10', 'htb', 'rate', '1mbit', 'ceil', '1mbit'],
        ['tc', 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.9.0.4/32', 'flowid', '1:10'],
        ['tc', 'filter', 'add', 'dev', 'eth0', 'parent', '1:', 'protocol', 'ip', 'prio', '1', 'u32', 'match', 'ip', 'dst', '10.8.0.4/32', 'flowid', '1:10'],
      ],
    ],
  ] as const)('%s', (_name, dests, backend, expected) => {
    expect(buildTcTree('eth0', [...dests], backend)).toEqual(expected);
  });
});

describe('iptables builders', () => {
  it('userspace: mark bypass, one NFQUEUE rule per address, comment records the spec', () => {
    const plan = planImpairments(
      [
        { node: 'n1', to: 'n3', impairment: imp({ delay: '50ms', jitter: '5ms' }) },
        { node: 'n1', to: 'n2', impairment: imp({ rate: '1mbit' }) },
      ],
      LAB,
      ['eth0'],
      'userspace',
    );
    const c3 = 'acklab impair to=n3 delay=50ms jitter=5ms';
    const c2 = 'acklab impair to=n2 rate=1mbit';
    expect(plan.iptables).toEqual([
      ['iptables', '-w', '-t', 'mangle', '-N', 'ACKLAB-IMPAIR'],
      ['iptables', '-w', '-t', 'mangle', '-A', 'POSTROUTING', '-j', 'ACKLAB-IMPAIR'],
      ['iptables', '-w', '-t', 'mangle', '-A', 'ACKLAB-IMPAIR', '-m', 'mark', '--mark', '0x4acc', '-j', 'RETURN'],
      ['iptables', '-w', '-t', 'mangle', '-A', 'ACKLAB-IMPAIR', '!', '-o', 'lo', '-d', '10.9.0.4/32', '-m', 'comment', '--comment', c3, '-j', 'NFQUEUE', '--queue-num', '100'],
      ['iptables', '-w', '-t', 'mangle', '-A', 'ACKLAB-IMPAIR', '!', '-o', 'lo', '-d', '10.8.0.4/32', '-m', 'comment', '--comment', c3, '-j', 'NFQUEUE', '--queue-num', '100'],
      ['iptables', '-w', '-t', 'mangle', '-A', 'ACKLAB-IMPAIR', '!', '-o', 'lo', '-d', '10.9.0.3/32', '-m', 'comment', '--comment', c2, '-j', 'RETURN'],
    ]);
    expect(plan.helpers).toEqual([{ queue: 100, to: 'n3', argv: helperStart(100, imp({ delay: '50ms', jitter: '5ms' })) }]);
    expect(plan.helpers[0]!.argv.slice(0, 9)).toEqual(['acklab-nfq', '--queue', '100', '--delay-us', '50000', '--jitter-us', '5000', '--distribution', 'normal']);
  });

  it('a run seed gives every helper a replayable seed of its own', () => {
    const conds = [
      { node: 'n1', to: 'n2', impairment: imp({ loss: '10%' }) },
      { node: 'n1', to: 'n3', impairment: imp({ loss: '10%' }) },
    ];
    const seeds = (seed?: number) =>
      planImpairments(conds, LAB, ['eth0'], 'userspace', seed).helpers.map((h) => {
        const i = h.argv.indexOf('--seed');
        return i < 0 ? undefined : h.argv[i + 1];
      });
    expect(seeds()).toEqual([undefined, undefined]);
    const [a, b] = seeds(42);
    expect(a).toMatch(/^[1-9]\d*$/);
    expect(a).not.toBe(b);
    expect(seeds(42)).toEqual([a, b]);
    expect(seeds(43)).not.toEqual([a, b]);
    expect(a).toBe(String(helperSeed(42, 'n1', 'n2')));
  });

  it('netem: rules only record (RETURN), no helper, no mark rule', () => {
    const plan = planImpairments([{ node: 'n1', to: '*', impairment: imp({ loss: '3%' }) }], LAB, ['eth0', 'eth1'], 'netem');
    expect(plan.helpers).toEqual([]);
    expect(plan.iptables.slice(2)).toEqual([
      ['iptables', '-w', '-t', 'mangle', '-A', 'ACKLAB-IMPAIR', '!', '-o', 'lo', '-m', 'comment', '--comment', 'acklab impair to=* loss=3%', '-j', 'RETURN'],
    ]);
    expect(plan.tc.filter((c) => c[2] === 'add' && c[1] === 'qdisc' && c[4] === 'eth1')).toHaveLength(2);
  });

  it('teardown removes rules first, then helpers, then trees', () => {
    expect(planImpairTeardown(['eth0'], [100, 101])).toEqual({
      iptables: [
        ['iptables', '-w', '-t', 'mangle', '-D', 'POSTROUTING', '-j', 'ACKLAB-IMPAIR'],
        ['iptables', '-w', '-t', 'mangle', '-F', 'ACKLAB-IMPAIR'],
        ['iptables', '-w', '-t', 'mangle', '-X', 'ACKLAB-IMPAIR'],
      ],
      helpers: [
        ['acklab-nfq', '--stop', '/run/acklab-nfq/100.pid'],
        ['acklab-nfq', '--stop', '/run/acklab-nfq/101.pid'],
      ],
      tc: [['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']],
    });
  });

  it.each([
    [
      'drop, sender side',
      { from: 'n1', to: 'n2', style: 'drop' },
      'from',
      [['iptables', '-w', '-A', 'ACKLAB-PART-OUT', '-d', '10.9.0.3/32', '-m', 'comment', '--comment', 'acklab cut n1->n2 drop', '-j', 'DROP']],
    ],
    [
      'drop, receiver side',
      { from: 'n1', to: 'n2', style: 'drop' },
      'to',
      [['iptables', '-w', '-A', 'ACKLAB-PART-IN', '-s', '10.9.0.3/32', '-m', 'comment', '--comment', 'acklab cut n1->n2 drop', '-j', 'DROP']],
    ],
    [
      'reset, sender side',
      { from: 'n1', to: 'n2', style: 'reset' },
      'from',
      [
        ['iptables', '-w', '-A', 'ACKLAB-PART-OUT', '-d', '10.9.0.3/32', '-p', 'tcp', '-m', 'comment', '--comment', 'acklab cut n1->n2 reset', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
        ['iptables', '-w', '-A', 'ACKLAB-PART-OUT', '-d', '10.9.0.3/32', '-m', 'comment', '--comment', 'acklab cut n1->n2 reset', '-j', 'DROP'],
      ],
    ],
  ] as const)('cutRules %s', (_n, cut, side, expected) => {
    expect(cutRules({ ...cut }, side, ['10.9.0.3'])).toEqual(expected);
  });

  it('planCuts puts rules on both nodes of each cut, with every address, and -D mirrors -A', () => {
    const add = planCuts([{ from: 'n1', to: 'n3', style: 'drop' }], LAB, '-A');
    expect([...add.keys()]).toEqual(['n1', 'n3']);
    expect(add.get('n1')!.map((c) => c[5])).toEqual(['10.9.0.4/32', '10.8.0.4/32']);
    expect(add.get('n3')!.map((c) => c[5])).toEqual(['10.9.0.2/32']);
    const del = planCuts([{ from: 'n1', to: 'n3', style: 'drop' }], LAB, '-D');
    expect(del.get('n1')).toEqual(add.get('n1')!.map((c) => c.map((a) => (a === '-A' ? '-D' : a))));
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
