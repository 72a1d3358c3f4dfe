/**
 * An engine reached over ssh (`ssh://root@ADDR_B`), as a remote machine is: scripts/multi-engine.sh
 * up --no-swarm --ssh runs an sshd in engine b's network namespace, with a host key, a client key
 * and known_hosts made for the run. acklab runs the system ssh client — here the script's, first
 * on PATH, which adds the run's config — with `docker system dial-stdio`, as the docker CLI does:
 * `swarm: form` over it, the verbs on a node on b, a run with a delay driven through b's sidecar,
 * and a host key that does not match refused before anything is made.
 *
 * Skips, saying why, where the engines cannot be started (see engines.ts).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { labelFilter } from '../../../src/common/index.js';
import type { SweepSummary } from '../../../src/results/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { CONNECT, cannotRun, place, type EngineSuite, useEngines } from './engines.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/acklab.js');
const why = cannotRun();
if (why) console.warn(`SKIPPED ssh-engine tests: ${why}`);

const tag = process.pid.toString(36);
const LAB = `me-ssh-${tag}`;
const RUN = `me-sshrun-${tag}`;
const REFUSED = `me-sshkey-${tag}`;
let suite: EngineSuite;

/** The CLI with `ssh` from `sshPath` first on PATH (the run's keys; or another host key for b). */
const acklab = (args: string[], options: { sshPath?: string; timeout?: number } = {}) =>
  execa('node', [CLI, ...args], {
    reject: false,
    timeout: options.timeout ?? 180_000,
    env: { NO_COLOR: '1', ACKLAB_OWNER: `me-ssh-test-${tag}`, PATH: `${options.sshPath ?? suite.engines.sshPath}:${process.env.PATH}` },
  });

/** acklab's containers and networks on the two engines (through their sockets, not ssh). */
async function acklabOn(): Promise<string[]> {
  const out: string[] = [];
  for (const [name, address] of [['a', suite.engines.a], ['b', suite.engines.b]] as const) {
    const rt = dockerRuntime(address);
    for (const c of await rt.containers.list(labelFilter({}))) out.push(`${name}: container ${c.name}`);
    for (const n of await rt.networks.list(labelFilter({}))) out.push(`${name}: network ${n.name}`);
  }
  return out;
}

const enginesYaml = (indent = '') =>
  [`swarm: form`, `engines:`, `  a: { address: "${suite.engines.a}", advertise: ${suite.engines.addrA} }`, `  b: { address: "${suite.engines.bSsh}", advertise: ${suite.engines.addrB} }`]
    .map((l) => indent + l)
    .join('\n');

describe.skipIf(why)('an engine over ssh: acklab reaches it through the system ssh client, host key checked', () => {
  suite = useEngines({ swarm: false, ssh: true, upTimeoutMs: 360_000 }, async () => {
    for (const lab of [LAB, RUN, REFUSED]) await acklab(['down', lab]).catch(() => undefined);
  });

  it('a host key that does not match known_hosts is refused, in ssh’s words, before anything is made', async () => {
    const file = path.join(suite.work, 'refused.yaml');
    await writeFile(file, `name: ${REFUSED}\n${enginesYaml()}\nnodes:\n  n1: { kind: custom, engine: a, args: { command: [sleep, infinity] } }\n  n2: { kind: custom, engine: b, args: { command: [sleep, infinity] } }\n`);
    const r = await acklab(['up', file], { sshPath: suite.engines.sshPathWrongKey });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`engine ${suite.engines.bSsh}: ssh ended (exit 255)`);
    expect(r.stderr).toContain('Host key verification failed.');
    expect(await acklabOn()).toEqual([]);
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['inactive', 'inactive']);
  }, 120_000);

  it('up forms the swarm over ssh; ps, exec, logs, impair and conditions reach the node on b; down unmakes it all', async () => {
    const file = path.join(suite.work, 'lab.yaml');
    await writeFile(file, `name: ${LAB}\n${enginesYaml()}\nnodes:\n  n1: { kind: custom, engine: a, args: { command: [sleep, infinity] } }\n  n2: { kind: custom, engine: b, args: { command: [sleep, infinity] } }\n`);
    const t0 = performance.now();
    const up = await acklab(['up', file]);
    console.log(`up with swarm: form, b over ssh (2 nodes): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    expect(up.stdout + up.stderr).toContain(`swarm: b joined it, advertising ${suite.engines.addrB}`);
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['manager', 'worker']);

    const ps = JSON.parse((await acklab(['ps', LAB, '--json'])).stdout) as { nodes: { name: string; state: string; engine?: string }[] };
    expect(ps.nodes.map((n) => `${n.name} ${n.state} on ${n.engine}`).sort()).toEqual(['n1 running on a', 'n2 running on b']);
    const ex = await acklab(['exec', LAB, 'n2', '--', 'node', '-e', CONNECT, 'n1']);
    expect(ex.stdout.trim()).toBe('reached');
    await acklab(['exec', LAB, 'n2', '--', 'sh', '-c', 'echo hello-over-ssh > /proc/1/fd/1']);
    const logs = await acklab(['logs', LAB, 'n2']);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toContain('hello-over-ssh');
    expect((await acklab(['impair', LAB, 'n2', '--to', 'n1', '--delay', '30ms'])).exitCode).toBe(0);
    const c = await acklab(['conditions', LAB, '--json']);
    const state = JSON.parse(c.stdout) as { nodes: { node: string; impairments: { to?: string; impairment: { delayMs?: number } }[] }[] };
    expect(state.nodes.find((x) => x.node === 'n2')!.impairments.map((i) => [i.to, i.impairment.delayMs])).toEqual([['n1', 30]]);

    const down = await acklab(['down', LAB]);
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stdout).toContain('unmade the swarm acklab formed on a (2 engines)');
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['inactive', 'inactive']);
    expect(await acklabOn()).toEqual([]);
  }, 300_000);

  it('a run with b over ssh: every message in order, every ack, and the delay of b’s sidecar in the round trip', async () => {
    const file = path.join(suite.work, 'run.yaml');
    const out = path.join(suite.work, 'run-out');
    await writeFile(
      file,
      `name: ${RUN}
seed: 5
duration: 12s
topology:
  name: ${RUN}
${enginesYaml('  ')}
  nodes:
    server: { kind: peer-server, engine: a }
    client: { kind: peer-client, engine: b, args: { server: server, interval: 200ms, duration: 10s } }
    p1: { kind: mcast, engine: a }
    p2: { kind: mcast, engine: b }
  defaults:
    args:
      mcast: { count: 20, interval: 300ms, duration: 11s, grace: 6s }
conditions:
  - name: baseline
  - name: delay-20ms-on-b
    links: [{ from: client, delay: 20ms }]
`,
    );
    const r = await acklab(['run', file, '--out', out], { timeout: 300_000 });
    if (r.exitCode !== 0) console.log(r.stdout.slice(-3000), r.stderr.slice(-3000));
    expect(r.exitCode).toBe(0);
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    for (const run of summary.runs) {
      const m = run.metrics!.mcast!;
      expect(m.order).toEqual({ ok: true, delivered: 2 * 20, complete: true });
      expect(m.acksReceived).toBe(m.acksExpected);
      const peer = run.metrics!.peer!;
      expect(peer.acksReceived).toBe(peer.updatesSent);
      console.log(`${run.condition}, b over ssh: mcast acks ${m.acksReceived}/${m.acksExpected}; peer ${peer.acksReceived}/${peer.updatesSent}, ack RTT p50 ${peer.ackRttMs.p50} ms`);
    }
    // 20 ms on the client's egress only (its sidecar on b, driven over ssh): 20 ms once per round trip.
    const rtt = (c: string) => summary.runs.find((x) => x.condition === c)!.metrics!.peer!.ackRttMs.p50!;
    const added = rtt('delay-20ms-on-b') - rtt('baseline');
    console.log(`delay 20 ms on the client (b, over ssh): ack RTT p50 added ${added.toFixed(2)} ms`);
    expect(added).toBeGreaterThan(20 - 7);
    expect(added).toBeLessThan(20 + 7);
    expect([await place(suite.engines.a), await place(suite.engines.b)]).toEqual(['inactive', 'inactive']);
    expect(await acklabOn()).toEqual([]);
  }, 400_000);
});
