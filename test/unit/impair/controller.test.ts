import { describe, expect, it } from 'vitest';
import { ConditionError, parseImpairment, parsePartition, partitionCuts } from '../../../src/conditions/index.js';
import { AgentCore } from '../../../src/impair/agent/core.js';
import { ImpairController, actionOps, type AgentClient, type AgentEvent, type LabEvent, type LabHandle } from '../../../src/impair/index.js';
import { FakeKernel } from './fake-kernel.js';

/** A lab of three nodes whose agents are real agent cores over fake kernels; sidecars are "made" on demand. */
function fakeLab() {
  const kernels = new Map<string, FakeKernel>();
  const agents = new Map<string, AgentClient>();
  const made: string[] = [];
  const lab: LabHandle = {
    lab: 'l',
    nodes: [
      { name: 'a', addresses: ['10.0.0.2'] },
      { name: 'b', addresses: ['10.0.0.3'] },
      { name: 'c', addresses: ['10.0.0.4'] },
    ],
    async agent(node, create) {
      const known = agents.get(node);
      if (known || !create) return known;
      made.push(node);
      const kernel = new FakeKernel();
      const listeners = new Set<(e: AgentEvent) => void>();
      const core = new AgentCore(kernel, (e) => listeners.forEach((l) => l(e)));
      await core.init();
      const client = {
        node,
        closed: new Promise<string>(() => {}),
        hello: async () => core.hello(),
        configure: (n: string, addr: Record<string, string[]>, seed?: number) => core.configure(n, addr, seed),
        change: (ops: Parameters<AgentCore['change']>[0]) => core.change(ops),
        schedule: (steps: Parameters<AgentCore['schedule']>[0], t0?: number) => core.schedule(steps, t0),
        start: async (t0: number) => core.start(t0),
        status: () => core.status(),
        watch: async (l: (e: AgentEvent) => void) => void listeners.add(l),
      } as unknown as AgentClient;
      kernels.set(node, kernel);
      agents.set(node, client);
      return client;
    },
  };
  return { lab, kernels, made };
}

const d5 = parseImpairment({ delay: '5ms' });

describe('ImpairController', () => {
  it('validates every condition before touching any node', async () => {
    const { lab, made } = fakeLab();
    const ctl = new ImpairController(lab, { backend: 'userspace' });
    await expect(
      ctl.impair([
        { node: 'a', to: 'b', impairment: d5 },
        { node: 'a', to: 'zz', impairment: d5 },
        { node: 'c', to: 'b', impairment: parseImpairment({ delay: '5ms', jitter: '1ms', delayCorrelation: '10%' }) },
      ]),
    ).rejects.toSatisfy((e: ConditionError) => e.problems.length === 2 && /unknown peer "zz"/.test(e.problems[0]!) && /netem backend only/.test(e.problems[1]!));
    expect(made).toEqual([]);
  });

  it('impair makes the sidecar of the node it changes only, and the agent puts the rule in', async () => {
    const { lab, kernels, made } = fakeLab();
    await new ImpairController(lab, { backend: 'userspace' }).impair([{ node: 'a', to: 'b', impairment: d5 }]);
    expect(made).toEqual(['a']);
    expect(kernels.get('a')!.effective('ACKLAB-IMPAIR')![0]).toMatch(/^! -o lo -d 10.0.0.3\/32 .*acklab impair to=b delay=5ms.* -j NFQUEUE --queue-num 100$/);
  });

  it('a partition puts each cut on both of its nodes; heal NODE removes only what involves it', async () => {
    const { lab, kernels } = fakeLab();
    const ctl = new ImpairController(lab, { backend: 'userspace' });
    await ctl.partition(partitionCuts(parsePartition('a | b,c')));
    expect(kernels.get('a')!.effective('ACKLAB-PART-OUT')).toHaveLength(2);
    expect(kernels.get('b')!.effective('ACKLAB-PART-IN')).toEqual(['-s 10.0.0.2/32 -m comment --comment "acklab cut a->b drop" -j DROP']);
    await ctl.heal('b');
    expect(kernels.get('a')!.effective('ACKLAB-PART-OUT')).toEqual(['-d 10.0.0.4/32 -m comment --comment "acklab cut a->c drop" -j DROP']);
    expect(kernels.get('b')!.effective('ACKLAB-PART-IN')).toEqual([]);
  });

  it('heal of a lab without sidecars makes none', async () => {
    const { lab, made } = fakeLab();
    await new ImpairController(lab, { backend: 'userspace' }).heal();
    expect(made).toEqual([]);
  });

  it('heal refuses an unknown node', async () => {
    const { lab } = fakeLab();
    await expect(new ImpairController(lab, { backend: 'userspace' }).heal('q')).rejects.toThrow(/unknown node "q"; the lab's nodes are: a, b, c/);
  });

  it('--for: the agent owns the deadline', async () => {
    const { lab, kernels } = fakeLab();
    await new ImpairController(lab, { backend: 'userspace' }).partition([{ from: 'a', to: 'b', style: 'drop' }], { forMs: 10_000 });
    const k = kernels.get('a')!;
    expect(k.effective('ACKLAB-PART-OUT')).toHaveLength(1);
    await k.advanceTo(Date.now() + 11_000);
    expect(k.effective('ACKLAB-PART-OUT')).toEqual([]);
  });

  it('a dry run prints the stages and the one batch, and makes nothing', async () => {
    const { lab, made } = fakeLab();
    const lines: string[] = [];
    await new ImpairController(lab, { backend: 'netem', dryRun: true, log: (l) => lines.push(l) }).impair([{ node: 'a', to: 'b', impairment: d5 }]);
    expect(made).toEqual([]);
    expect(lines[0]).toBe('[a] tc class add dev eth0 parent 1: classid 1:10 htb rate 10gbit ceil 10gbit');
    expect(lines[1]).toBe('[a] tc qdisc add dev eth0 parent 1:10 handle 10: netem delay 5ms');
    expect(lines[2]).toMatch(/^\[a\] iptables-restore -w 5 --noflush <<'EOF'\n\*mangle\n:ACKLAB-IMPAIR-1 - \[0:0\]\n-A ACKLAB-IMPAIR-1 ! -o lo -d 10.0.0.3\/32 -m comment --comment "acklab impair to=b delay=5ms" -j CLASSIFY --set-class 1:10\n/);
  });

  it('schedule hands each node its part of each step; watch hears every node switch', async () => {
    const { lab, kernels } = fakeLab();
    const ctl = new ImpairController(lab, { backend: 'userspace' });
    await ctl.prepare();
    const heard: LabEvent[] = [];
    await ctl.watch((e) => heard.push(e));
    await ctl.schedule([{ id: 'p', atMs: 500, ops: actionOps({ kind: 'partition', partition: parsePartition('a | b'), style: 'drop' }, ['a', 'b', 'c']) }]);
    const t0 = Date.now() + 5_000;
    await ctl.start(t0);
    for (const k of kernels.values()) await k.advanceTo(t0 + 500);
    expect(heard.filter((e) => e.event === 'switched').map((e) => e.node).sort()).toEqual(['a', 'b']);
    expect(kernels.get('c')!.effective('ACKLAB-PART-OUT')).toEqual([]);
  });
});
