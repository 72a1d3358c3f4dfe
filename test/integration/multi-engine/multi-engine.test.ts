/**
 * One lab across two Docker engines on a swarm overlay network (issue 15), on this machine: two
 * extra dockerds in network namespaces (scripts/multi-engine.sh), every verb through the CLI as a
 * user runs it (DOCKER_HOST untouched: the lab's lease stays on the engine acklab talks to), and
 * an experiment — a 4-node mcast mesh and a peer pair split over both engines, under a delay and a
 * healing partition — checked for total order and ack counts. Traffic stays between the lab's own
 * containers; the engines, namespaces, bridge, rule and folders are removed afterwards.
 *
 * Skips, saying why, where the engines cannot be started (not root, no dockerd/nsenter/ip netns),
 * or with ACKLAB_SKIP_MULTI_ENGINE=1.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { LABELS, labelFilter } from '../../../src/common/index.js';
import { labRuntime } from '../../../src/lab/index.js';
import type { RunManifest, SweepSummary } from '../../../src/results/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { PROBE_CLIENT, PROBE_SERVER, quantile } from '../impair/net-probe.js';
import { waitFor } from '../../support/wait.js';
import { cannotRun, type EngineSuite, useEngines } from './engines.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/acklab.js');
const why = cannotRun();
if (why) console.warn(`SKIPPED multi-engine tests: ${why}`);

const tag = process.pid.toString(36);
const LAB = `me-verbs-${tag}`;
const EXPERIMENT = `me-mesh-${tag}`;
const home = dockerRuntime();
let suite: EngineSuite;

const acklab = (args: string[], timeout = 180_000) => execa('node', [CLI, ...args], { reject: false, timeout, env: { NO_COLOR: '1', ACKLAB_OWNER: `me-test-${tag}` } });

/** Every container and network of `lab` on the three engines. */
async function remains(lab: string): Promise<string[]> {
  const out: string[] = [];
  for (const [name, rt] of [['home', home], ['a', dockerRuntime(suite.engines.a)], ['b', dockerRuntime(suite.engines.b)]] as const) {
    for (const c of await rt.containers.list(labelFilter({ lab }))) out.push(`${name}: container ${c.name}`);
    for (const n of await rt.networks.list(labelFilter({ lab }))) out.push(`${name}: network ${n.name}`);
  }
  return out;
}

describe.skipIf(why)('a lab across two engines on a swarm overlay network', () => {
  suite = useEngines({ upTimeoutMs: 240_000 }, async () => {
    await acklab(['down', LAB]).catch(() => undefined);
  });

  describe('every verb through the CLI', () => {
    let file: string;
    const ip = new Map<string, string>();
    const probe = async <T>(node: string, ...args: string[]): Promise<T> => {
      const r = await acklab(['exec', LAB, node, '--', 'node', '-e', PROBE_CLIENT, ...args]);
      if (r.exitCode !== 0) throw new Error(`probe ${args.join(' ')} on ${node}: exit ${r.exitCode}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
    };
    const rttP50 = async (from: string, to: string) => quantile((await probe<{ rtts: number[] }>(from, 'tcprtt', ip.get(to)!, '180')).rtts.slice(30), 0.5);
    const counts = async (node: string, from: string) => (await probe<Record<string, number>>(node, 'counts'))[ip.get(from)!] ?? 0;
    let baseline = 0;

    beforeAll(async () => {
      file = path.join(suite.work, 'verbs.yaml');
      await writeFile(
        file,
        `name: ${LAB}
engines: { a: "${suite.engines.a}", b: "${suite.engines.b}" }
nodes:
  n1: { kind: custom, engine: a, args: { command: [sleep, infinity] } }
  n2: { kind: custom, engine: b, args: { command: [sleep, infinity] } }
  n3: { kind: custom, engine: a, args: { command: [sleep, infinity] } }
`,
      );
    });

    it('up starts the nodes on their engines, on one overlay network, and records the engine of each', async () => {
      const t0 = performance.now();
      const r = await acklab(['up', '-q', file]);
      console.log(`up of 3 nodes over 2 engines: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.exitCode).toBe(0);
      const a = dockerRuntime(suite.engines.a);
      const b = dockerRuntime(suite.engines.b);
      const nodesOn = async (rt: typeof a) => (await rt.containers.list(labelFilter({ lab: LAB, role: 'node' }))).map((c) => c.labels[LABELS.node]).sort();
      expect(await nodesOn(a)).toEqual(['n1', 'n3']);
      expect(await nodesOn(b)).toEqual(['n2']);
      // The lease stays where acklab talks to, with the engines on it; the network is the swarm's.
      const lease = await home.containers.list(labelFilter({ lab: LAB, role: 'lease' }));
      expect(lease.length).toBeGreaterThan(0);
      expect(lease[0]!.labels[LABELS.engines]).toBe(`a=${suite.engines.a} b=${suite.engines.b}`);
      const nets = await a.networks.list(labelFilter({ lab: LAB }));
      expect(nets.map((n) => [n.name, n.driver])).toEqual([[`acklab-${LAB}_net`, 'overlay']]);
      const rt = await labRuntime(home);
      for (const c of await rt.containers.list(labelFilter({ lab: LAB, role: 'node' }))) {
        ip.set(c.labels[LABELS.node]!, Object.values(c.addresses)[0]!);
        await rt.containers.execDetached(c.id, ['node', '-e', PROBE_SERVER]);
      }
      for (const c of await rt.containers.list(labelFilter({ lab: LAB, role: 'node' }))) {
        await waitFor(`probe server on ${c.labels[LABELS.node]}`, async () => (await rt.containers.listeningPorts(c.id)).has(9004), { timeoutMs: 20_000 });
      }
    }, 300_000);

    it('ps lists the nodes of both engines; exec, logs and cp reach a node on the other engine', async () => {
      const ps = await acklab(['ps', LAB, '--json']);
      expect(ps.exitCode).toBe(0);
      const { nodes } = JSON.parse(ps.stdout) as { nodes: { name: string; state: string; engine?: string }[] };
      expect(nodes.map((n) => `${n.name} ${n.state} on ${n.engine}`).sort()).toEqual(['n1 running on a', 'n2 running on b', 'n3 running on a']);
      const ex = await acklab(['exec', LAB, 'n2', '--', 'sh', '-c', 'hostname; echo from-b > /tmp/mark.txt; echo to-stderr >&2']);
      expect(ex.exitCode).toBe(0);
      expect(ex.stdout.trim()).toBe('n2');
      // By name across engines: n2 (on b) resolves n1 (on a) through the overlay's DNS.
      const dns = await acklab(['exec', LAB, 'n2', '--', 'getent', 'hosts', 'n1']);
      expect(dns.stdout).toContain(ip.get('n1'));
      const cp = await acklab(['cp', LAB, 'n2:/tmp/mark.txt', path.join(suite.work, 'mark.txt')]);
      expect(cp.exitCode).toBe(0);
      expect(await readFile(path.join(suite.work, 'mark.txt'), 'utf8')).toBe('from-b\n');
      // A node's own output: n2's probe server prints nothing, so start one that does, on engine b.
      await acklab(['exec', LAB, 'n2', '--', 'sh', '-c', 'echo hello-from-b > /proc/1/fd/1']);
      const logs = await acklab(['logs', LAB, 'n2']);
      expect(logs.exitCode).toBe(0);
      expect(logs.stdout).toContain('hello-from-b');
    }, 120_000);

    it('the overlay baseline: TCP round trips across engines and within one, p50 under 5 ms', async () => {
      baseline = await rttP50('n1', 'n2');
      const sameEngine = await rttP50('n1', 'n3');
      console.log(`overlay baseline RTT p50: n1(a) -> n2(b) ${baseline.toFixed(3)} ms, n1(a) -> n3(a) ${sameEngine.toFixed(3)} ms`);
      expect(baseline).toBeLessThan(5);
      expect(sameEngine).toBeLessThan(5);
    }, 120_000);

    it('impair: 50 ms n1 -> n2 adds 50 ms ± (5 ms + 10 %) over the overlay baseline; conditions reads it back', async () => {
      const r = await acklab(['impair', LAB, 'n1', '--to', 'n2', '--delay', '50ms']);
      expect(r.stderr).not.toMatch(/^Error/m);
      expect(r.exitCode).toBe(0);
      const delayed = await rttP50('n1', 'n2');
      const added = delayed - baseline;
      console.log(`delay 50 ms n1(a) -> n2(b): RTT p50 ${delayed.toFixed(3)} ms, added ${added.toFixed(3)} ms over the overlay baseline`);
      expect(added).toBeGreaterThan(50 - 10);
      expect(added).toBeLessThan(50 + 10);
      expect(await rttP50('n1', 'n3')).toBeLessThan(5);
      // The other direction from the other engine's sidecar: 30 ms n2 -> n1.
      expect((await acklab(['impair', LAB, 'n2', '--to', 'n1', '--delay', '30ms'])).exitCode).toBe(0);
      const both = (await rttP50('n1', 'n2')) - baseline;
      console.log(`delay 50 ms + 30 ms both ways across engines: added ${both.toFixed(3)} ms`);
      expect(both).toBeGreaterThan(80 - 13);
      expect(both).toBeLessThan(80 + 13);
      const c = await acklab(['conditions', LAB, '--json']);
      expect(c.exitCode).toBe(0);
      const state = JSON.parse(c.stdout) as { nodes: { node: string; impairments: { to?: string; impairment: { delayMs?: number } }[] }[] };
      const of = (n: string) => state.nodes.find((x) => x.node === n)!.impairments.map((i) => [i.to, i.impairment.delayMs]);
      expect(of('n1')).toEqual([['n2', 50]]);
      expect(of('n2')).toEqual([['n1', 30]]);
    }, 180_000);

    it('partition n1 | n2 across engines: nothing crosses; heal: traffic flows again, delays gone', async () => {
      expect((await acklab(['partition', LAB, 'n1', 'n2,n3'])).exitCode).toBe(0);
      const before = await counts('n2', 'n1');
      const beforeSame = await counts('n3', 'n2');
      await probe('n1', 'udpsend', ip.get('n2')!, '50');
      await probe('n2', 'udpsend', ip.get('n3')!, '50');
      expect((await counts('n2', 'n1')) - before).toBe(0);
      // Inside one side of the split (n2 on b, n3 on a) traffic still crosses engines.
      expect((await counts('n3', 'n2')) - beforeSame).toBe(50);
      const c = JSON.parse((await acklab(['conditions', LAB, '--json'])).stdout) as { cuts: { from: string; to: string }[] };
      expect(c.cuts).toEqual(expect.arrayContaining([expect.objectContaining({ from: 'n1', to: 'n2' }), expect.objectContaining({ from: 'n2', to: 'n1' })]));
      expect((await acklab(['heal', LAB])).exitCode).toBe(0);
      const healed = await counts('n2', 'n1');
      await probe('n1', 'udpsend', ip.get('n2')!, '20');
      expect((await counts('n2', 'n1')) - healed).toBe(20);
      expect(await rttP50('n1', 'n2')).toBeLessThan(5);
    }, 180_000);

    it('up refuses engines that are not one swarm with a manager first, saying what to do, and makes nothing', async () => {
      const wrong = path.join(suite.work, 'worker-first.yaml');
      const name = `me-wrong-${tag}`;
      await writeFile(wrong, `name: ${name}\nengines: { b: "${suite.engines.b}", a: "${suite.engines.a}" }\nnodes:\n  n1: { kind: custom, args: { command: [sleep, infinity] } }\n  n2: { kind: custom, args: { command: [sleep, infinity] } }\n`);
      const r = await acklab(['up', '-q', wrong]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`engine "b" (${suite.engines.b}) is a swarm worker; the first engine listed makes the lab's networks and must be a manager`);
      expect(await remains(name)).toEqual([]);
    }, 120_000);

    it('down removes the lab from every engine, sidecars included', async () => {
      const r = await acklab(['down', LAB]);
      expect(r.exitCode).toBe(0);
      // The swarm removes an overlay network from its engines shortly after the manager accepted it.
      const t0 = Date.now();
      await waitFor('the lab gone from every engine', async () => (await remains(LAB)).length === 0, { timeoutMs: 15_000, everyMs: 250 }).catch(async () => {
        expect(await remains(LAB)).toEqual([]);
      });
      console.log(`down: the overlay network left every engine ${Date.now() - t0} ms after down returned`);
    }, 120_000);
  });

  describe('an experiment: a 4-node mcast mesh and a peer pair split over the engines', () => {
    let summary: SweepSummary;
    let out: string;

    beforeAll(async () => {
      const file = path.join(suite.work, 'mesh.yaml');
      out = path.join(suite.work, 'mesh-out');
      await writeFile(
        file,
        `name: ${EXPERIMENT}
seed: 5
duration: 36s
topology:
  name: ${EXPERIMENT}
  engines: { a: "${suite.engines.a}", b: "${suite.engines.b}" }
  nodes:
    server: { kind: peer-server, engine: a }
    client: { kind: peer-client, engine: b, args: { server: server, interval: 250ms, duration: 34s } }
    p1: { kind: mcast, engine: a }
    p2: { kind: mcast, engine: b }
    p3: { kind: mcast, engine: a }
    p4: { kind: mcast, engine: b }
  defaults:
    args:
      mcast: { count: 60, interval: 300ms, duration: 35s, grace: 8s }
conditions:
  - name: baseline
  - name: delay-50ms
    links: [{ from: "*", delay: 50ms }]
  - name: partition-healed
    timeline:
      - at: 13s partition server,p1,p2 | client,p3,p4
      - at: 16s heal
`,
      );
      const t0 = performance.now();
      const r = await acklab(['run', file, '--out', out], 600_000);
      console.log(`acklab run (3 conditions of 36 s, 6 nodes over 2 engines): ${((performance.now() - t0) / 1000).toFixed(1)} s, exit ${r.exitCode}`);
      if (r.exitCode !== 0) console.log(r.stdout.slice(-3000), r.stderr.slice(-3000));
      summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    }, 700_000);

    const run = (condition: string) => summary.runs.find((r) => r.condition === condition)!;

    it('the mesh forms across the engines (how long it took is printed: a fresh overlay network can be slow to carry the first connections)', async () => {
      for (const r of summary.runs) {
        const dir = path.join(out, r.dir);
        const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
        const complete: number[] = [];
        for (const p of ['p1', 'p2', 'p3', 'p4']) {
          const events = (await readFile(path.join(dir, `nodes/${p}/events.ndjson`), 'utf8')).split('\n').filter((l) => l.startsWith('{'));
          const done = events.map((l) => JSON.parse(l) as { ts: number; event: string }).find((e) => e.event === 'mesh_complete');
          if (done) complete.push(done.ts - manifest.t0!);
        }
        console.log(`${r.condition}: mesh complete on ${complete.length}/4 peers, the last ${Math.max(...complete)} ms after the workload started`);
        expect(complete).toHaveLength(4);
      }
    });

    it.each(['baseline', 'delay-50ms', 'partition-healed'])('%s: every peer delivers every message in one total order, and every ack arrives', (condition) => {
      const r = run(condition);
      const m = r.metrics!.mcast!;
      if (m.order.ok !== true || m.delivered !== 4 * 60 * 4) {
        console.log(`${condition}: ${r.dir} status ${r.status}; problems: ${JSON.stringify(r.metrics!.problems)}; nodes: ${JSON.stringify(m.nodes)}`);
      }
      expect(r.status).toBe('ok');
      expect(m.order).toEqual({ ok: true, delivered: 4 * 60, complete: true });
      expect(m.sent).toBe(4 * 60);
      expect(m.acksReceived).toBe(m.acksExpected);
      const peer = r.metrics!.peer!;
      expect(peer.updatesSent).toBeGreaterThan(0);
      expect(peer.acksReceived).toBe(peer.updatesSent);
      console.log(`${condition}: mcast ${m.delivered}/${4 * 60 * 4} delivered, acks ${m.acksReceived}/${m.acksExpected}; peer acks ${peer.acksReceived}/${peer.updatesSent}, ack RTT p50 ${peer.ackRttMs.p50} ms`);
    });

    it('a delay of 50 ms on every egress adds 100 ms ± (5 ms + 10 %) to the ack round trip over the overlay baseline', () => {
      const base = run('baseline').metrics!.peer!.ackRttMs.p50!;
      const delayed = run('delay-50ms').metrics!.peer!.ackRttMs.p50!;
      console.log(`peer ack RTT p50 across engines: baseline ${base} ms, delay-50ms ${delayed} ms, added ${(delayed - base).toFixed(3)} ms`);
      expect(delayed - base).toBeGreaterThan(100 - 15);
      expect(delayed - base).toBeLessThan(100 + 15);
    });

    it('the partition held while in force: acks stopped, then resumed after the heal', async () => {
      const dir = path.join(out, run('partition-healed').dir);
      const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
      expect(manifest.timeline.map((t) => [t.text, t.ok])).toEqual([
        [expect.stringContaining('partition'), true],
        [expect.stringContaining('heal'), true],
      ]);
      const [cut, heal] = manifest.timeline.map((t) => manifest.t0! + t.appliedAtMs!);
      const events = (await readFile(path.join(dir, 'nodes/client/events.ndjson'), 'utf8'))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { ts: number; event: string });
      const acks = events.filter((e) => e.event === 'ack_received').map((e) => e.ts);
      // One round trip may be on the wire when the cut goes in.
      expect(acks.filter((ts) => ts > cut! + 500 && ts < heal!)).toEqual([]);
      expect(acks.filter((ts) => ts > heal!).length).toBeGreaterThan(0);
    });

    it('the run folder records which engine each node ran on; nothing of the runs is left on any engine', async () => {
      const manifest = JSON.parse(await readFile(path.join(out, run('baseline').dir, 'manifest.json'), 'utf8')) as RunManifest;
      expect(Object.fromEntries(manifest.nodes.map((n) => [n.name, n.engine]))).toEqual({ server: 'a', client: 'b', p1: 'a', p2: 'b', p3: 'a', p4: 'b' });
      // Engines a and b are this test's own: nothing of acklab may be left there; at home, no lease of the runs.
      for (const address of [suite.engines.a, suite.engines.b]) {
        const rt = dockerRuntime(address);
        expect((await rt.containers.list(labelFilter({}))).map((c) => c.name)).toEqual([]);
        expect((await rt.networks.list(labelFilter({}))).map((n) => n.name)).toEqual([]);
      }
      expect(await home.containers.list([...labelFilter({}), `${LABELS.topology}=${EXPERIMENT}`])).toEqual([]);
    });

    it('the swarm the engines were in (swarm: existing) is as it was: a manager, b a worker, acklab’s mark on neither', async () => {
      const a = dockerRuntime(suite.engines.a);
      const b = dockerRuntime(suite.engines.b);
      const [sa, sb] = [(await a.engine.facts()).swarm!, (await b.engine.facts()).swarm!];
      expect([sa.state, sa.manager, sb.state, sb.manager]).toEqual(['active', true, 'active', false]);
      expect((await a.engine.swarm.inspect()).labels).toEqual({});
      expect((await a.engine.swarm.nodes()).map((n) => [n.role, n.labels])).toEqual(
        expect.arrayContaining([
          ['manager', {}],
          ['worker', {}],
        ]),
      );
    });
  });
});
