import { describe, expect, it } from 'vitest';
import { ConditionError, parseImpairment } from '../../../src/conditions/index.js';
import { ImpairController, type LabHandle, type NamespaceExecutor } from '../../../src/impair/index.js';

const SAVE_WITH_CUT = `*filter
:INPUT ACCEPT [0:0]
:ACKLAB-PART-IN - [0:0]
:ACKLAB-PART-OUT - [0:0]
[0:0] -A INPUT -j ACKLAB-PART-IN
[0:0] -A OUTPUT -j ACKLAB-PART-OUT
[5:300] -A ACKLAB-PART-OUT -d 10.0.0.3/32 -m comment --comment "acklab cut a->b drop" -j DROP
COMMIT
`;

/** A fake lab: every node has a sidecar that records argv and answers reads from canned text. */
function fakeLab(saves: Record<string, string> = {}) {
  const ran: string[] = [];
  const lab: LabHandle = {
    lab: 'l',
    nodes: [
      { name: 'a', addresses: ['10.0.0.2'] },
      { name: 'b', addresses: ['10.0.0.3'] },
      { name: 'c', addresses: ['10.0.0.4'] },
    ],
    async executor(node) {
      const exec: NamespaceExecutor = {
        node,
        async run(argv) {
          if (argv[0] === 'iptables-save') return { exitCode: 0, stdout: saves[node] ?? '', stderr: '' };
          if (argv[0] === 'ip') return { exitCode: 0, stdout: '1: lo: <LOOPBACK>\n2: eth0@if9: <UP>\n', stderr: '' };
          if (argv[0] === 'cat') return { exitCode: 0, stdout: '', stderr: '' };
          ran.push(`${node}: ${argv.join(' ')}`);
          return { exitCode: 0, stdout: '', stderr: '' };
        },
        async spawn(argv) {
          ran.push(`${node}: spawn ${argv.join(' ')}`);
        },
      };
      return exec;
    },
  };
  return { lab, ran };
}

describe('ImpairController', () => {
  it('validates every condition before touching any namespace', async () => {
    const { lab, ran } = fakeLab();
    const ctl = new ImpairController(lab, { backend: 'userspace' });
    await expect(
      ctl.impair([
        { node: 'a', to: 'b', impairment: parseImpairment({ delay: '5ms' }) },
        { node: 'a', to: 'zz', impairment: parseImpairment({ delay: '5ms' }) },
        { node: 'c', to: 'b', impairment: parseImpairment({ delay: '5ms', jitter: '1ms', delayCorrelation: '10%' }) },
      ]),
    ).rejects.toSatisfy((e: ConditionError) => e.problems.length === 2 && /unknown peer "zz"/.test(e.problems[0]!) && /netem backend only/.test(e.problems[1]!));
    expect(ran).toEqual([]);
  });

  it('dry run prints the argv and runs nothing', async () => {
    const { lab, ran } = fakeLab();
    const lines: string[] = [];
    const ctl = new ImpairController(lab, { backend: 'netem', dryRun: true, log: (l) => lines.push(l) });
    await ctl.impair([{ node: 'a', to: 'b', impairment: parseImpairment({ delay: '5ms' }) }]);
    expect(ran).toEqual([]);
    expect(lines).toContain('[a] tc qdisc add dev eth0 parent 1:10 handle 10: netem delay 5ms');
    expect(lines.at(-1)).toBe("[a] iptables -w -t mangle -A ACKLAB-IMPAIR ! -o lo -d 10.0.0.3/32 -m comment --comment 'acklab impair to=b delay=5ms' -j RETURN");
  });

  it('on userspace the helper is started before the rule that feeds its queue', async () => {
    const { lab, ran } = fakeLab();
    const ctl = new ImpairController(lab, { backend: 'userspace', helperStartMs: 0 });
    // The fake /proc shows no listener, so the controller refuses to install the NFQUEUE rule.
    await expect(ctl.impair([{ node: 'a', to: 'b', impairment: parseImpairment({ delay: '5ms' }) }])).rejects.toThrow(
      /helper for queue 100 on node "a" did not start/,
    );
    expect(ran.filter((l) => !/ -D | -F | -X |qdisc del|--stop/.test(l))).toEqual([expect.stringMatching(/^a: spawn acklab-nfq --queue 100 --delay-us 5000 /)]);
  });

  it('partition adds only missing cuts, on both nodes of each cut', async () => {
    const { lab, ran } = fakeLab({ a: SAVE_WITH_CUT });
    const ctl = new ImpairController(lab, { backend: 'userspace' });
    await ctl.partition([
      { from: 'a', to: 'b', style: 'drop' },
      { from: 'a', to: 'c', style: 'drop' },
    ]);
    expect(ran.filter((l) => l.startsWith('a:'))).toEqual([
      "a: iptables -w -A ACKLAB-PART-OUT -d 10.0.0.4/32 -m comment --comment acklab cut a->c drop -j DROP",
    ]);
    expect(ran.filter((l) => l.startsWith('c:'))).toContain('c: iptables -w -N ACKLAB-PART-OUT');
  });

  it('heal NODE deletes exactly the rules of cuts it is part of', async () => {
    const { lab, ran } = fakeLab({ a: SAVE_WITH_CUT });
    await new ImpairController(lab, { backend: 'userspace' }).heal('b');
    expect(ran).toEqual(["a: iptables -w -D ACKLAB-PART-OUT -d 10.0.0.3/32 -m comment --comment acklab cut a->b drop -j DROP"]);
  });

  it('heal refuses an unknown node', async () => {
    const { lab } = fakeLab();
    await expect(new ImpairController(lab, { backend: 'userspace' }).heal('q')).rejects.toThrow(/unknown node "q"; the lab's nodes are: a, b, c/);
  });
});
