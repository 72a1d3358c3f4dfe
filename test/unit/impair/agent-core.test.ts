import { describe, expect, it } from 'vitest';
import { parseImpairment } from '../../../src/conditions/index.js';
import { ARM_AHEAD_MS, AgentCore, CHECK_EVERY_MS, PROMOTE_AHEAD_MS } from '../../../src/impair/agent/core.js';
import type { AgentEvent } from '../../../src/impair/index.js';
import { FakeKernel } from './fake-kernel.js';

const ADDR = { n1: ['10.9.0.2'], n2: ['10.9.0.3'], n3: ['10.9.0.4'] };
const d20 = parseImpairment({ delay: '20ms' });

async function agent(kernel = new FakeKernel()) {
  const events: AgentEvent[] = [];
  const core = new AgentCore(kernel, (e) => events.push(e));
  await core.init();
  await core.configure('n1', ADDR, 7);
  return { core, kernel, events };
}

const restores = (k: FakeKernel) => k.log.filter((l) => l.startsWith('iptables-restore'));

describe('agent core', () => {
  it('probes the kernel and hooks its chains in, empty', async () => {
    const { core, kernel } = await agent();
    expect(core.hello().backend.backend).toBe('userspace');
    expect([...kernel.hooks]).toEqual(['POSTROUTING -j ACKLAB-IMPAIR', 'OUTPUT -j ACKLAB-PART-OUT', 'INPUT -j ACKLAB-PART-IN']);
    expect(kernel.effective('ACKLAB-IMPAIR')).toEqual([]);
  });

  it('a userspace impairment: the helper is bound before the one batch that feeds its queue', async () => {
    const { core, kernel } = await agent();
    const r = await core.change([{ op: 'impair', to: 'n2', impairment: d20 }]);
    expect(r.ok).toBe(true);
    const spawn = kernel.log.findIndex((l) => l.startsWith('spawn acklab-nfq --queue 100 --delay-us 20000'));
    const batch = kernel.log.findIndex((l) => l.startsWith('iptables-restore') && l.includes('NFQUEUE --queue-num 100'));
    expect(spawn).toBeGreaterThanOrEqual(0);
    expect(batch).toBeGreaterThan(spawn);
    expect(kernel.helpers.get(100)!.argv).toContain('--seed');
    expect(kernel.effective('ACKLAB-IMPAIR')![0]).toContain('-d 10.9.0.3/32');
    const status = await core.status();
    expect(status.state.impairments.map((i) => i.to)).toEqual(['n2']);
    expect(status.helpers).toMatchObject([{ queue: 100, to: 'n2', alive: true }]);
  });

  it('replacing a condition switches to a new stage in one batch, then retires the old helper', async () => {
    const { core, kernel } = await agent();
    await core.change([{ op: 'impair', to: 'n2', impairment: d20 }]);
    await core.change([{ op: 'impair', to: 'n2', impairment: parseImpairment({ delay: '50ms' }) }]);
    const last = restores(kernel).filter((b) => b.includes('-I ACKLAB-IMPAIR 1 -g')).at(-1)!;
    expect(last).toContain('--queue-num 101');
    expect(last).not.toContain('--queue-num 100');
    expect(kernel.log.indexOf('kill SIGTERM helper 100')).toBeGreaterThan(kernel.log.lastIndexOf(last));
    expect((await core.status()).helpers.map((h) => h.queue)).toEqual([101]);
  });

  it('scheduled steps: stages built ahead, restore armed just before, each step switched at its time', async () => {
    const { core, kernel, events } = await agent();
    await core.schedule([
      { id: 's1', atMs: 0, ops: [{ op: 'cut', cut: { from: 'n1', to: 'n2', style: 'drop' }, side: 'from' }, { op: 'impair', to: 'n3', impairment: d20 }] },
      { id: 's2', atMs: 500, ops: [{ op: 'heal' }] },
    ]);
    // the helper of the future step is already up; nothing is in force, nothing armed until the zero is known
    expect(kernel.helpers.get(100)?.alive).toBe(true);
    expect(kernel.effective('ACKLAB-PART-OUT')).toEqual([]);
    expect((await core.status()).pending.map((p) => [p.id, p.atMs, p.dueMs])).toEqual([['s1', 0, undefined], ['s2', 500, undefined]]);
    // waiting for the zero, the agent is real-time: on a starved machine it reads the start at once
    expect(kernel.priority).toBe('fifo 10');
    const t0 = kernel.now() + 1000;
    expect(core.start(t0)).toEqual({ armed: 2 });
    await kernel.advanceTo(t0 - ARM_AHEAD_MS - PROMOTE_AHEAD_MS - 1);
    expect(kernel.priority).toBe('default');
    // acklab-sched raises the agent just before its arming timer, which then runs at real-time priority
    await kernel.advanceTo(t0 - ARM_AHEAD_MS - PROMOTE_AHEAD_MS);
    expect(kernel.log.at(-1)).toBe('promoted fifo 10');
    const beforeArming = kernel.log.length;
    await kernel.advanceTo(t0 - ARM_AHEAD_MS);
    // armed: the agent at real-time priority first, then the step's restore started (inheriting
    // it, so it starts at once), and the step's generation made ahead (reached by nothing yet)
    const armedAt = kernel.log.indexOf('priority fifo 10', beforeArming);
    expect(kernel.log.slice(armedAt, armedAt + 2)).toEqual(['priority fifo 10', 'arm iptables-restore -w 5 --noflush']);
    expect(kernel.log[armedAt + 2]).toMatch(/^iptables-restore \*mangle\n/);
    const made = restores(kernel).at(-1)!;
    expect(made).toMatch(/^iptables-restore \*mangle\n:ACKLAB-IMPAIR-\d+ /);
    expect(made).not.toContain('-I ');
    expect(kernel.effective('ACKLAB-PART-OUT')).toEqual([]);
    await kernel.advanceTo(t0);
    // at its time the switch is the gotos alone
    const switchBatch = restores(kernel).find((b) => b.includes('-I ACKLAB-PART-OUT 1 -g'))!;
    expect(switchBatch.split('\n').filter((l) => l.startsWith('-') || l.startsWith(':'))).toEqual([
      expect.stringMatching(/^-I ACKLAB-IMPAIR 1 -g ACKLAB-IMPAIR-\d+$/),
      expect.stringMatching(/^-I ACKLAB-PART-OUT 1 -g ACKLAB-PART-OUT-\d+$/),
      expect.stringMatching(/^-I ACKLAB-PART-IN 1 -g ACKLAB-PART-IN-\d+$/),
    ]);
    expect(kernel.effective('ACKLAB-PART-OUT')).toEqual(['-d 10.9.0.3/32 -m comment --comment "acklab cut n1->n2 drop" -j DROP']);
    // switched, with the next step due within two arming leads: it stays at real-time priority
    expect(kernel.priority).toBe('fifo 10');
    expect(kernel.log.slice(beforeArming).filter((l) => l.startsWith('priority'))).toEqual(['priority fifo 10']);
    await kernel.advanceTo(t0 + 500);
    expect(kernel.effective('ACKLAB-PART-OUT')).toEqual([]);
    // the last step switched: back to the default policy
    expect(kernel.priority).toBe('default');
    const switched = events.filter((e) => e.event === 'switched');
    expect(switched.map((e) => e.event === 'switched' && [e.stepId, e.dueMs, e.firedAtMs, e.switchedAtMs, e.ok])).toEqual([
      ['s1', t0, t0, t0, true],
      ['s2', t0 + 500, t0 + 500, t0 + 500, true],
    ]);
    // after the heal no stage is needed: the helper is retired
    expect(kernel.log).toContain('kill SIGTERM helper 100');
  });

  it('a change between a step\'s arming and its time: the step switches with a whole batch, both in force', async () => {
    const { core, kernel } = await agent();
    const cut = (to: string) => [{ op: 'cut' as const, cut: { from: 'n1', to, style: 'drop' as const }, side: 'from' as const }];
    await core.schedule([{ id: 's', atMs: 1000, ops: cut('n2') }]);
    const t0 = kernel.now() + 1000;
    core.start(t0);
    await kernel.advanceTo(t0 + 1000 - ARM_AHEAD_MS);
    await core.change(cut('n3'));
    await kernel.advanceTo(t0 + 1000);
    const last = restores(kernel).filter((b) => b.includes('-I ACKLAB-PART-OUT 1 -g')).at(-1)!;
    expect(last).toMatch(/^:ACKLAB-PART-OUT-\d+ - \[0:0\]$/m);
    expect(kernel.effective('ACKLAB-PART-OUT')!.map((r) => /-d (\S+)/.exec(r)![1]).sort()).toEqual(['10.9.0.3/32', '10.9.0.4/32']);
  });

  it('steps far apart: real-time priority from each arming to its switch only', async () => {
    const { core, kernel } = await agent();
    const cut = (to: string) => [{ op: 'cut' as const, cut: { from: 'n1', to, style: 'drop' as const }, side: 'from' as const }];
    await core.schedule([{ id: 'a', atMs: 1000, ops: cut('n2') }, { id: 'b', atMs: 3000, ops: cut('n3') }]);
    const t0 = kernel.now() + 1000;
    core.start(t0);
    await kernel.advanceTo(t0 + 1000 - ARM_AHEAD_MS);
    expect(kernel.priority).toBe('fifo 10');
    await kernel.advanceTo(t0 + 1000);
    expect(kernel.priority).toBe('default');
    await kernel.advanceTo(t0 + 3000 - ARM_AHEAD_MS);
    expect(kernel.priority).toBe('fifo 10');
    await kernel.advanceTo(t0 + 3000);
    expect(kernel.priority).toBe('default');
    // real-time while waiting for the zero, then from each arming to its switch
    expect(kernel.log.filter((l) => l.startsWith('priority'))).toEqual(['priority fifo 10', 'priority default', 'priority fifo 10', 'priority default', 'priority fifo 10', 'priority default']);
    // the tidy and the read of the rules after a switch are on no step's clock: the agent is back
    // at the default policy before it starts them (its children would inherit real-time)
    const back = kernel.log.indexOf('priority default', kernel.log.findIndex((l) => l.includes('-I ACKLAB-PART-OUT 1 -g')));
    expect(kernel.log[back - 1]).toMatch(/^iptables-restore [\s\S]*-I ACKLAB-PART-OUT 1 -g/);
    expect(kernel.log.slice(back + 1).some((l) => l.startsWith('iptables-save'))).toBe(true);
  });

  it('a status read while a step is armed waits for its switch: no process is started at the step\'s time', async () => {
    const { core, kernel } = await agent();
    await core.schedule([{ id: 's', atMs: 1000, ops: [{ op: 'cut', cut: { from: 'n1', to: 'n2', style: 'drop' }, side: 'from' }] }]);
    const t0 = kernel.now() + 1000;
    core.start(t0);
    await kernel.advanceTo(t0 + 1000 - ARM_AHEAD_MS + 10);
    const before = kernel.log.length;
    let read: Awaited<ReturnType<AgentCore['status']>> | undefined;
    void core.status().then((s) => (read = s));
    await kernel.advanceTo(t0 + 1000 - 1);
    // nothing started while the step is armed, and the read not answered yet
    expect(kernel.log.slice(before)).toEqual([]);
    expect(read).toBeUndefined();
    await kernel.advanceTo(t0 + 1000);
    expect(read?.state.cuts).toHaveLength(1);
    const switchAt = kernel.log.findIndex((l, i) => i >= before && l.includes('-I ACKLAB-PART-OUT 1 -g'));
    expect(kernel.log.findIndex((l, i) => i >= before && l.startsWith('iptables-save'))).toBeGreaterThan(switchAt);
    // with no step armed a read is answered at once
    await expect(core.status()).resolves.toMatchObject({ pending: [] });
  });

  it('a read during a burst goes right after a switch, its processes at the default policy', async () => {
    const { core, kernel } = await agent();
    const cut = (to: string) => [{ op: 'cut' as const, cut: { from: 'n1', to, style: 'drop' as const }, side: 'from' as const }];
    await core.schedule([{ id: 'a', atMs: 0, ops: cut('n2') }, { id: 'b', atMs: 400, ops: cut('n3') }, { id: 'c', atMs: 800, ops: [{ op: 'heal' }] }]);
    const t0 = kernel.now() + 1000;
    core.start(t0);
    await kernel.advanceTo(t0 + 10);
    let read: Awaited<ReturnType<AgentCore['status']>> | undefined;
    const before = kernel.log.length;
    void core.status().then((r) => (read = r));
    await kernel.advanceTo(t0 + 399);
    expect(read).toBeUndefined();
    await kernel.advanceTo(t0 + 400);
    // read after b switched, while the agent stays real-time for c: its processes drop to the default policy
    expect(read?.state.cuts.map((c) => c.to).sort()).toEqual(['n2', 'n3']);
    expect(kernel.priority).toBe('fifo 10');
    expect(kernel.log.slice(before)).toContain('chrt -o 0 iptables-save -c');
  });

  it('steps a second apart on a slow machine: what follows a switch stops where the next step is near', async () => {
    const { core, kernel } = await agent();
    const cut = (to: string) => [{ op: 'cut' as const, cut: { from: 'n1', to, style: 'drop' as const }, side: 'from' as const }];
    await core.schedule([{ id: 'a', atMs: 1000, ops: cut('n2') }, { id: 'b', atMs: 2000, ops: cut('n3') }, { id: 'c', atMs: 3000, ops: cut('n4') }]);
    // a restore at the default policy takes 600 ms, as on a loaded machine
    kernel.slow.set('iptables-restore', 600);
    const t0 = kernel.now();
    core.start(t0);
    await kernel.advanceTo(t0 + 4000);
    const switches = kernel.log.flatMap((l, i) => (l.startsWith('iptables-restore') && l.includes('-I ACKLAB-PART-OUT 1 -g') ? [i] : []));
    expect(switches).toHaveLength(3);
    // after b's switch, the tidy of a's chains ends 400 ms before c is due: the rules are not read
    // then (that read would still run when c's switch queues behind it), but after c's switch
    const tidyOfA = kernel.log.findIndex((l, i) => i > switches[1]! && l.startsWith('(iptables-restore ran'));
    expect(tidyOfA).toBeGreaterThan(switches[1]!);
    expect(tidyOfA).toBeLessThan(switches[2]!);
    expect(kernel.log.slice(switches[1], switches[2]).some((l) => l.startsWith('iptables-save'))).toBe(false);
    expect(kernel.log.slice(switches[2]).some((l) => l.startsWith('iptables-save'))).toBe(true);
    for (const r of (await core.status()).records.filter((x) => x.stepId)) expect(r.switchedAtMs - r.dueMs!, r.stepId).toBe(0);
  });

  it('a starved machine: acklab-sched raises the agent before each arming, and every step switches on time', async () => {
    const { core, kernel } = await agent();
    const cut = (to: string) => [{ op: 'cut' as const, cut: { from: 'n1', to, style: 'drop' as const }, side: 'from' as const }];
    await core.schedule([{ id: 'a', atMs: 1000, ops: cut('n2') }, { id: 'b', atMs: 2000, ops: cut('n3') }]);
    // at the default policy the agent's timers fire 2 s late
    kernel.starvedMs = 2000;
    const t0 = kernel.now();
    core.start(t0);
    await kernel.advanceTo(t0 + 5000);
    const records = (await core.status()).records.filter((r) => r.stepId);
    expect(records.map((r) => [r.stepId, r.firedAtMs - r.dueMs!, r.switchedAtMs - r.dueMs!])).toEqual([['a', 0, 0], ['b', 0, 0]]);
    expect(kernel.log.filter((l) => l.startsWith('promote at'))).toEqual([`promote at ${1000 - ARM_AHEAD_MS - PROMOTE_AHEAD_MS}`, `promote at ${2000 - ARM_AHEAD_MS - PROMOTE_AHEAD_MS}`]);
  });

  it('a step cancelled after acklab-sched raised the agent for it: the agent goes back to the default policy', async () => {
    const { core, kernel } = await agent();
    await core.schedule([{ id: 's', atMs: 1000, ops: [{ op: 'heal' }] }, { id: 'later', atMs: 9000, ops: [{ op: 'heal' }] }]);
    const t0 = kernel.now();
    core.start(t0);
    await kernel.advanceTo(t0 + 1000 - ARM_AHEAD_MS - 10);
    expect(kernel.log.at(-1)).toBe('promoted fifo 10');
    core.cancel(['s']);
    await kernel.advance(1);
    expect(kernel.priority).toBe('default');
    // the other step's promotion is asked for again after the cancel
    const cancelAt = kernel.log.lastIndexOf('cancel promotions');
    expect(kernel.log.slice(cancelAt + 1).filter((l) => l.startsWith('promote at'))).toEqual([`promote at ${9000 - ARM_AHEAD_MS - PROMOTE_AHEAD_MS}`]);
  });

  it('steps staged and never started: real-time while waiting for the start, 10 s at most', async () => {
    const { core, kernel } = await agent();
    await core.schedule([{ id: 's', atMs: 1000, ops: [{ op: 'heal' }] }]);
    expect(kernel.priority).toBe('fifo 10');
    await kernel.advance(9_999);
    expect(kernel.priority).toBe('fifo 10');
    await kernel.advance(1);
    expect(kernel.priority).toBe('default');
  });

  it('a status read held back by an armed step goes when the step is cancelled', async () => {
    const { core, kernel } = await agent();
    await core.schedule([{ id: 's', atMs: 5000, ops: [{ op: 'heal' }] }]);
    const t0 = kernel.now();
    core.start(t0);
    await kernel.advanceTo(t0 + 5000 - ARM_AHEAD_MS);
    let read = false;
    void core.status().then(() => (read = true));
    await kernel.advanceTo(t0 + 5000 - 1);
    expect(read).toBe(false);
    core.cancel();
    await kernel.advance(1);
    expect(read).toBe(true);
  });

  it('without a real-time budget a step is armed all the same, at the default priority', async () => {
    const kernel = new FakeKernel();
    kernel.realtime = false;
    const { core } = await agent(kernel);
    expect(core.hello().realtime).toBe(false);
    expect((await core.status()).realtime).toBe(false);
    await core.schedule([{ id: 's1', atMs: 1000, ops: [{ op: 'cut', cut: { from: 'n1', to: 'n2', style: 'drop' }, side: 'from' }] }]);
    const t0 = kernel.now() + 1000;
    core.start(t0);
    await kernel.advanceTo(t0 + 1000);
    expect(kernel.log).toContain('arm iptables-restore -w 5 --noflush');
    expect(kernel.log.filter((l) => l.startsWith('priority'))).toEqual([]);
    expect(kernel.effective('ACKLAB-PART-OUT')).toHaveLength(1);
  });

  it('a condition with untilMs lapses by itself at its time', async () => {
    const { core, kernel } = await agent();
    const until = kernel.now() + 30_000;
    await core.change([{ op: 'cut', cut: { from: 'n1', to: 'n3', style: 'drop' }, side: 'from', untilMs: until }]);
    expect(kernel.effective('ACKLAB-PART-OUT')).toHaveLength(1);
    await kernel.advanceTo(until - 1);
    expect(kernel.effective('ACKLAB-PART-OUT')).toHaveLength(1);
    await kernel.advanceTo(until);
    expect(kernel.effective('ACKLAB-PART-OUT')).toEqual([]);
    expect((await core.status()).state.cuts).toEqual([]);
  });

  it('a helper that dies is a problem at once, told to every watcher', async () => {
    const { core, kernel, events } = await agent();
    await core.change([{ op: 'impair', to: 'n2', impairment: d20 }]);
    kernel.killHelper(100);
    await kernel.advance(1);
    const problems = events.filter((e) => e.event === 'problem');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ reason: expect.stringMatching(/the helper for n1 -> n2 \(queue 100\) exited \(SIGKILL\): its traffic is being DROPPED/) });
    expect((await core.status()).problems).toHaveLength(1);
  });

  it('a rule removed from outside is noticed by the next check', async () => {
    const { core, kernel, events } = await agent();
    await core.change([{ op: 'cut', cut: { from: 'n1', to: 'n2', style: 'drop' }, side: 'from' }]);
    kernel.deleteRule('ACKLAB-PART-OUT');
    await kernel.advance(CHECK_EVERY_MS + 1);
    const problem = events.find((e) => e.event === 'problem');
    expect(problem).toMatchObject({ reason: expect.stringMatching(/rules on n1 were changed from outside: missing "-A ACKLAB-PART-OUT -d 10.9.0.3\/32/) });
    expect(problem!.event === 'problem' && problem!.atMs).toBeLessThanOrEqual(kernel.now());
  });

  it('its own changes are never reported as changes from outside', async () => {
    const { core, kernel, events } = await agent();
    for (let i = 0; i < 5; i++) {
      await core.change([{ op: 'impair', to: 'n2', impairment: parseImpairment({ delay: `${10 + i}ms` }) }]);
      await kernel.advance(CHECK_EVERY_MS + 1);
    }
    expect(events.filter((e) => e.event === 'problem')).toEqual([]);
  });

  it('a peer that came back with another address gets its rules rewritten', async () => {
    const { core, kernel } = await agent();
    await core.change([{ op: 'cut', cut: { from: 'n1', to: 'n2', style: 'drop' }, side: 'from' }]);
    await core.configure('n1', { ...ADDR, n2: ['10.9.0.99'] });
    expect(kernel.effective('ACKLAB-PART-OUT')).toEqual(['-d 10.9.0.99/32 -m comment --comment "acklab cut n1->n2 drop" -j DROP']);
  });

  it('teardown removes conditions, helpers, trees and the chains', async () => {
    const kernel = new FakeKernel();
    kernel.netem = true;
    const { core } = await agent(kernel);
    await core.change([{ op: 'impair', to: 'n2', impairment: parseImpairment({ delay: '5ms', rate: '1mbit' }) }]);
    expect([...kernel.classes.get('eth0')!]).toEqual(['1:1', '1:10']);
    await core.teardown();
    expect(kernel.classes.has('eth0')).toBe(false);
    expect(kernel.hooks.size).toBe(0);
    expect(kernel.chains.has('ACKLAB-IMPAIR')).toBe(false);
  });
});
