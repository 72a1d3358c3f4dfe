/**
 * `swarm: form` on two real engines in no swarm (scripts/multi-engine.sh up --no-swarm --tls),
 * engine b reached over https with a client certificate (DOCKER_CERT_PATH), as a remote engine is:
 * acklab
 * makes the swarm for a lab, waits until the overlay network carries traffic between the engines,
 * and leaves each engine as it found it — a swarm it formed is unmade by the removal of the last
 * lab on it, an engine it joined to a swarm it found leaves that swarm again. Through the CLI, as
 * a user runs it; the engines, namespaces, bridge and rule are removed afterwards.
 *
 * Skips, saying why, where the engines cannot be started (see engines.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { LABELS, labelFilter } from '../../../src/common/index.js';
import type { RunManifest, SweepSummary } from '../../../src/results/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { CONNECT, cannotRun, place, type EngineSuite, useEngines } from './engines.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/acklab.js');
const why = cannotRun();
if (why) console.warn(`SKIPPED swarm-forming tests: ${why}`);

const tag = process.pid.toString(36);
const ONE = `me-form1-${tag}`;
const TWO = `me-form2-${tag}`;
const FOUND = `me-found-${tag}`;
const RUN = `me-formrun-${tag}`;
let suite: EngineSuite;

const acklab = (args: string[], timeout = 180_000) =>
  execa('node', [CLI, ...args], { reject: false, timeout, env: { NO_COLOR: '1', ACKLAB_OWNER: `me-form-test-${tag}`, DOCKER_CERT_PATH: suite.engines.certs! } });

const enginesYaml = () => `swarm: form
engines:
  a: { address: "${suite.engines.a}", advertise: ${suite.engines.addrA} }
  b: { address: "${suite.engines.bHttps}", advertise: ${suite.engines.addrB} }`;

async function labFile(name: string): Promise<string> {
  const file = path.join(suite.work, `${name}.yaml`);
  await writeFile(
    file,
    `name: ${name}
${enginesYaml()}
nodes:
  n1: { kind: custom, engine: a, args: { command: [sleep, infinity] } }
  n2: { kind: custom, engine: b, args: { command: [sleep, infinity] } }
`,
  );
  return file;
}

describe.skipIf(why)('swarm: form — acklab makes the engines’ swarm for a lab and unmakes it after', () => {
  suite = useEngines({ swarm: false, tls: true, upTimeoutMs: 240_000 }, async () => {
    for (const lab of [ONE, TWO, FOUND]) await acklab(['down', lab]).catch(() => undefined);
  });

  it('up forms the swarm (a manager, b a worker, marked as acklab’s) and waits until the overlay carries traffic', async () => {
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['inactive', 'inactive']);
    const t0 = performance.now();
    const r = await acklab(['up', await labFile(ONE)]);
    console.log(`up with swarm: form (2 nodes over 2 engines): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const out = r.stdout + r.stderr;
    expect(r.exitCode, out).toBe(0);
    expect(out).toContain(`swarm: a made a swarm, advertising ${suite.engines.addrA}`);
    expect(out).toContain(`swarm: b joined it, advertising ${suite.engines.addrB}`);
    const overlay = /overlay: every path between engines answers \(2; the last after ([\d.]+) s/.exec(out);
    expect(overlay, out).not.toBeNull();
    console.log(`overlay carried traffic between the engines ${overlay![1]} s after the nodes were ready`);
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['manager', 'worker']);
    const a = dockerRuntime(suite.engines.a).engine.swarm;
    expect((await a.inspect()).labels).toEqual({ [LABELS.swarm]: 'formed' });
    expect((await a.nodes()).map((n) => `${n.role}:${n.labels[LABELS.swarm]}`).sort()).toEqual(['manager:manager', 'worker:worker']);
    // No probe is left; the nodes reach each other by name across the engines at once.
    for (const address of [suite.engines.a, suite.engines.b]) expect(await dockerRuntime(address).containers.list(labelFilter({ role: 'probe' }))).toEqual([]);
    const reach = await acklab(['exec', ONE, 'n1', '--', 'node', '-e', CONNECT, 'n2']);
    expect(reach.stdout.trim()).toBe('reached');
  }, 300_000);

  it('a second lab on the swarm forms nothing; the first down keeps the swarm, the last unmakes it', async () => {
    const r = await acklab(['up', await labFile(TWO)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('made a swarm');
    const first = await acklab(['down', ONE]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/the swarm acklab formed on a stays: (a lab on .* uses it|networks acklab-me-form2-\S+ are on it)/);
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['manager', 'worker']);
    const reach = await acklab(['exec', TWO, 'n2', '--', 'node', '-e', CONNECT, 'n1']);
    expect(reach.stdout.trim()).toBe('reached');
    const t0 = performance.now();
    const last = await acklab(['down', TWO]);
    console.log(`down of the last lab, unmaking the swarm: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(last.exitCode, last.stderr).toBe(0);
    expect(last.stdout).toContain('unmade the swarm acklab formed on a (2 engines)');
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['inactive', 'inactive']);
  }, 300_000);

  it('a run forms the swarm for its conditions and leaves the engines in none, with every message delivered in order and every ack', async () => {
    const file = path.join(suite.work, 'run.yaml');
    const out = path.join(suite.work, 'run-out');
    await writeFile(
      file,
      `name: ${RUN}
seed: 3
duration: 12s
topology:
  name: ${RUN}
${enginesYaml()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
  nodes:
    server: { kind: peer-server, engine: a }
    client: { kind: peer-client, engine: b, args: { server: server, interval: 200ms, duration: 10s } }
    p1: { kind: mcast, engine: a }
    p2: { kind: mcast, engine: b }
    p3: { kind: mcast, engine: a }
    p4: { kind: mcast, engine: b }
  defaults:
    args:
      mcast: { count: 20, interval: 300ms, duration: 11s, grace: 6s }
conditions:
  - name: baseline
  - name: delay-20ms
    links: [{ from: "*", delay: 20ms }]
`,
    );
    const r = await acklab(['run', file, '--out', out], 300_000);
    if (r.exitCode !== 0) console.log(r.stdout.slice(-3000), r.stderr.slice(-3000));
    expect(r.exitCode).toBe(0);
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    for (const run of summary.runs) {
      const m = run.metrics!.mcast!;
      expect(m.order).toEqual({ ok: true, delivered: 4 * 20, complete: true });
      expect(m.acksReceived).toBe(m.acksExpected);
      const peer = run.metrics!.peer!;
      expect(peer.acksReceived).toBe(peer.updatesSent);
      console.log(`${run.condition} over a formed swarm: mcast ${m.delivered}/${4 * 20 * 4}, acks ${m.acksReceived}/${m.acksExpected}; peer ${peer.acksReceived}/${peer.updatesSent}, ack RTT p50 ${peer.ackRttMs.p50} ms`);
    }
    // Each run waited for its overlay network: 3 nodes on each engine, each reached from the other.
    for (const run of summary.runs) {
      const manifest = JSON.parse(await readFile(path.join(out, run.dir, 'manifest.json'), 'utf8')) as RunManifest;
      expect(manifest.overlay).toEqual({ paths: 6, settledMs: expect.any(Number) });
      expect(manifest.overlay!.settledMs).toBeLessThan(60_000);
    }
    // The sidecars on b, reached over https like the rest of b, put the delay in force: 20 ms each way.
    const rtt = (c: string) => summary.runs.find((r) => r.condition === c)!.metrics!.peer!.ackRttMs.p50!;
    expect(rtt('delay-20ms') - rtt('baseline')).toBeGreaterThan(40 - 9);
    expect(rtt('delay-20ms') - rtt('baseline')).toBeLessThan(40 + 9);
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['inactive', 'inactive']);
  }, 400_000);

  it('a swarm found on a stays as it was; b, which acklab joined to it, leaves it again at down', async () => {
    const a = dockerRuntime(suite.engines.a).engine.swarm;
    await a.init({ advertiseAddr: suite.engines.addrA, labels: {} });
    try {
      const before = (await a.nodes()).map((n) => n.id);
      const r = await acklab(['up', await labFile(FOUND)]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('made a swarm');
      expect(r.stdout + r.stderr).toContain('swarm: b joined it');
      expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['manager', 'worker']);
      const down = await acklab(['down', FOUND]);
      expect(down.exitCode, down.stderr).toBe(0);
      expect(down.stdout).toContain("b left a's swarm, which acklab had joined it to");
      expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['manager', 'inactive']);
      expect((await a.nodes()).map((n) => n.id)).toEqual(before);
      expect((await a.inspect()).labels).toEqual({});
    } finally {
      await a.leave(true).catch(() => undefined);
    }
  }, 300_000);
});
