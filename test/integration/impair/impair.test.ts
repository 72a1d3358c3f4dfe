/**
 * Network conditions on this machine's backend (userspace here: no sch_netem), on a real lab.
 * Bounds are generous for a noisy 2-core machine; traffic only between the lab's own containers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, labelFilter } from '../../../src/common/index.js';
import { type ConditionError, parseImpairment, parsePartition, partitionCuts } from '../../../src/conditions/index.js';
import { ensureImages } from '../../../src/images/index.js';
import { type ImpairController, type LabConditions, openController } from '../../../src/impair/index.js';
import { Lab, type StartedLab } from '../../../src/lab/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { sleep, waitFor } from '../../support/wait.js';
import { PROBE_CLIENT, PROBE_SERVER, type UdpResult, quantile } from './net-probe.js';

const LAB_FILE = new URL('./lab.yaml', import.meta.url).pathname;
// Per test process, so another `make test` on the same engine never touches this lab.
const LAB_NAME = `acklab-test-impair-${process.pid.toString(36)}`;
const runtime = dockerRuntime();
let lab: StartedLab;
let shaper: string;

/** The lab's controller as the CLI opens it: nodes found by label, by any process. */
async function controller(): Promise<ImpairController> {
  return openController(runtime, LAB_NAME, { shaperImage: async () => shaper, log: () => {} });
}

async function probe<T>(node: string, ...args: string[]): Promise<T> {
  const r = await lab.exec(node, ['node', '-e', PROBE_CLIENT, ...args]);
  if (r.exitCode !== 0) throw new Error(`probe ${args.join(' ')} on ${node} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const ip = (node: string) => Object.values(lab.node(node).addresses)[0]!;
// Median of 150 ping-pongs after 30 warm-up ones (JIT, slow start, a busy machine's first wake-ups).
const tcpRttP50 = async (from: string, to: string) => quantile((await probe<{ rtts: number[] }>(from, 'tcprtt', ip(to), '180')).rtts.slice(30), 0.5);

interface PeerEvent { ts: number; event: string; conn?: number }
async function clientEvents(): Promise<PeerEvent[]> {
  const text = await lab.logs('client');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as PeerEvent);
}

beforeAll(async () => {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const images = await ensureImages({ log: () => {} });
  shaper = images.shaper;
  lab = await Lab.fromTopology({ ...Lab.fromFile(LAB_FILE).topology, name: LAB_NAME }).start({ images });
  for (const n of ['n1', 'n2', 'n3']) await runtime.containers.execDetached(lab.node(n).containerId, ['node', '-e', PROBE_SERVER]);
  // The probe servers' last listener (9004) is up once they all are.
  for (const n of ['n1', 'n2', 'n3']) await waitFor(`probe server on ${n}`, async () => (await runtime.containers.listeningPorts(lab.node(n).containerId)).has(9004));
});

afterAll(async () => {
  await lab?.stop();
});

describe('conditions from the topology file, applied at up', () => {
  it('n1 -> n2 has 50 ms: the TCP round trip grows by 50 ms ± (5 ms + 10 %), other links stay unimpaired', async () => {
    const impaired = await tcpRttP50('n1', 'n2');
    const baseline = await tcpRttP50('n1', 'n3');
    const other = await tcpRttP50('n2', 'n3');
    const added = impaired - baseline;
    expect(added).toBeGreaterThan(50 - (5 + 5));
    expect(added).toBeLessThan(50 + (5 + 5));
    expect(baseline).toBeLessThan(5);
    expect(other).toBeLessThan(5);
  });

  it('conditions reads it back from the kernel, with a live helper', async () => {
    const c: LabConditions = await (await controller()).read();
    expect(c.backend?.backend).toBe('userspace');
    const n1 = c.nodes.find((n) => n.node === 'n1')!;
    expect(n1.impairments).toMatchObject([{ to: 'n2', impairment: { delayMs: 50 }, helper: { alive: true } }]);
    expect(c.healthy).toBe(true);
  });
});

describe('impair from the CLI layer while the lab runs', () => {
  it('refuses bad input and applies nothing', async () => {
    const ctl = await controller();
    const before = JSON.stringify((await ctl.read()).nodes.map((n) => n.impairments.map((i) => i.impairment)));
    await expect(ctl.impair([{ node: 'n1', to: 'nope', impairment: parseImpairment({ delay: '5ms' }) }])).rejects.toThrow(/unknown peer "nope"/);
    await expect(
      ctl.impair([
        { node: 'n3', to: 'n1', impairment: parseImpairment({ delay: '5ms' }) },
        { node: 'n3', to: 'n3', impairment: parseImpairment({ delay: '5ms' }) },
      ]),
    ).rejects.toSatisfy((e: ConditionError) => e.problems.some((p) => /towards itself/.test(p)));
    const after = JSON.stringify((await ctl.read()).nodes.map((n) => n.impairments.map((i) => i.impairment)));
    expect(after).toBe(before);
  });

  it('loss 20 % → 12–28 % of 1000 probes lost', async () => {
    await (await controller()).impair([{ node: 'n1', to: 'n3', impairment: parseImpairment({ loss: '20%' }) }]);
    const r = await probe<UdpResult>('n1', 'udp', ip('n3'), '1000', '2');
    const lost = (r.sent - r.received) / r.sent;
    expect(lost).toBeGreaterThanOrEqual(0.12);
    expect(lost).toBeLessThanOrEqual(0.28);
  });

  it('rate 1 mbit → throughput within ±25 %', async () => {
    await (await controller()).impair([{ node: 'n1', to: 'n3', impairment: parseImpairment({ rate: '1mbit' }) }]);
    const r = await probe<{ bytes: number; ms: number }>('n1', 'tput', ip('n3'), String(400_000));
    const bps = (r.bytes * 8) / (r.ms / 1000);
    expect(bps).toBeGreaterThan(0.75e6);
    expect(bps).toBeLessThan(1.25e6);
    // The replaced loss condition is gone: only the rate is recorded for n1 -> n3.
    const n1 = (await (await controller()).read()).nodes.find((n) => n.node === 'n1')!;
    expect(n1.impairments.find((i) => i.to === 'n3')!.impairment).toMatchObject({ lossPct: 0, rateBps: 1e6 });
  });

  it('a dead helper is detected and reported', async () => {
    const sidecar = (await runtime.containers.list(labelFilter({ role: 'sidecar', lab: LAB_NAME, node: 'n1' }))).find((c) => c.running)!;
    await runtime.containers.exec(sidecar.id, ['acklab-nfq', '--stop', '/run/acklab-nfq/100.pid']);
    const ctl = await controller();
    const c = await waitFor('the dead helper to show', async () => {
      const read = await ctl.read();
      return read.healthy ? undefined : read;
    });
    // The node's agent saw its helper exit (it supervises it) and says what that means for the traffic.
    expect(c.nodes.find((n) => n.node === 'n1')!.problems.join()).toMatch(/the helper for n1 -> n2 \(queue 100\) exited \(.*\): its traffic is being DROPPED/);
  });

  it('heal NODE removes its rules, helpers and qdiscs', async () => {
    const ctl = await controller();
    await ctl.heal('n1');
    const n1 = (await ctl.read()).nodes.find((n) => n.node === 'n1')!;
    expect(n1.impairments).toEqual([]);
    expect(n1.qdiscs.eth0 ?? '').not.toMatch(/htb/);
    expect(await tcpRttP50('n1', 'n2')).toBeLessThan(5);
  });
});

describe('partitions', () => {
  it('partition → no bytes cross and acks stop; heal → acks resume within 2 s on the same connection', async () => {
    const ctl = await controller();
    const acks = async () => (await clientEvents()).filter((e) => e.event === 'ack_received');
    const connects = async () => (await clientEvents()).filter((e) => e.event === 'connected').length;
    expect((await acks()).length).toBeGreaterThan(0);
    const connectedBefore = await connects();
    await ctl.partition(partitionCuts(parsePartition('client | server')));
    // An ack already on the wire when the rules went in may still arrive: count from when none does.
    let atCut = (await acks()).length;
    await waitFor('acks to stop', async () => {
      await sleep(300);
      const now = (await acks()).length;
      const settled = now === atCut;
      atCut = now;
      return settled;
    });
    const serverInCounter = async () =>
      (await ctl.read()).nodes.find((n) => n.node === 'server')!.cuts.find((x) => x.side === 'to' && x.from === 'client')!.packets;
    const atCutServerIn = await serverInCounter();
    // A deliberate observation window: nothing may cross the cut during it (a negative cannot be awaited).
    await sleep(3000);
    expect((await acks()).length).toBe(atCut);
    const c = await ctl.read();
    expect(c.cuts).toEqual(expect.arrayContaining([{ from: 'client', to: 'server', style: 'drop' }, { from: 'server', to: 'client', style: 'drop' }]));
    // The client's TCP kept retransmitting into the cut; the server's side saw nothing arrive.
    // (The server's INPUT rule may catch a segment that was in flight when the cut began, not later ones.)
    const clientOut = c.nodes.find((n) => n.node === 'client')!.cuts.find((x) => x.side === 'from')!;
    const serverIn = c.nodes.find((n) => n.node === 'server')!.cuts.find((x) => x.side === 'to' && x.from === 'client')!;
    expect(clientOut.packets).toBeGreaterThan(0);
    expect(serverIn.packets).toBe(atCutServerIn);
    // Heal runs a few execs per node (slow on a loaded machine); the 2 s count from when the rules are gone.
    const healStart = Date.now();
    await ctl.heal();
    const healedAt = Date.now();
    expect(healedAt - healStart).toBeLessThan(15_000);
    let firstAck: PeerEvent | undefined;
    while (Date.now() - healedAt < 4000 && !firstAck) {
      firstAck = (await acks())[atCut];
      if (!firstAck) await sleep(100);
    }
    expect(firstAck).toBeDefined();
    expect(firstAck!.ts - healedAt).toBeLessThan(2000);
    expect(await connects()).toBe(connectedBefore);
  });

  it('one-way cut → only that direction fails', async () => {
    const ctl = await controller();
    await ctl.partition([{ from: 'n1', to: 'n3', style: 'drop' }]);
    const before3 = (await probe<Record<string, number>>('n3', 'counts'))[ip('n1')] ?? 0;
    const before1 = (await probe<Record<string, number>>('n1', 'counts'))[ip('n3')] ?? 0;
    await probe('n1', 'udpsend', ip('n3'), '50');
    await probe('n3', 'udpsend', ip('n1'), '50');
    const after3 = (await probe<Record<string, number>>('n3', 'counts'))[ip('n1')] ?? 0;
    const after1 = (await probe<Record<string, number>>('n1', 'counts'))[ip('n3')] ?? 0;
    expect(after3 - before3).toBe(0);
    expect(after1 - before1).toBe(50);
    await ctl.heal('n3');
    await probe('n1', 'udpsend', ip('n3'), '20');
    expect(((await probe<Record<string, number>>('n3', 'counts'))[ip('n1')] ?? 0) - after3).toBe(20);
  });
});

describe('down', () => {
  it('leaves no sidecar and no rule', async () => {
    const ctl = await controller();
    await ctl.partition([{ from: 'n2', to: 'n3', style: 'reset' }]);
    await ctl.impair([{ node: 'n2', to: '*', impairment: parseImpairment({ delay: '1ms' }) }]);
    const sidecars = await runtime.containers.list(labelFilter({ role: 'sidecar', lab: LAB_NAME }));
    expect(sidecars.length).toBeGreaterThan(0);
    await lab.stop();
    const left = await runtime.containers.list([`${LABELS.lab}=${LAB_NAME}`]);
    expect(left).toEqual([]);
  });
});
