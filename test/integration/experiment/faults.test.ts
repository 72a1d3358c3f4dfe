/**
 * Faults on real labs, as `acklab run` plays them:
 *   - a nemesis of random-halves partitions on 5 nodes, run twice with one seed under a bounded CPU
 *     load: every step recorded on every node, none early, each in force on all five before the next
 *     one is due and never half applied for long, and the same groups both times. The punctuality
 *     targets themselves (50 ms p95 / 100 ms max lag, 20 ms p95 spread) are measured by
 *     `npm run bench:faults`: this machine is shared, and a test runs next to other tests;
 *   - a helper killed and a rule removed from outside mid-run: both runs `invalid` within 1 s, with
 *     the time and the reason, and `acklab run` exits 1 saying so;
 *   - kill / stop / start / restart / pause / resume in one timeline, with what the programs did.
 */
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { quantile } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { parseExperiment, runExperiment } from '../../../src/experiment/index.js';
import type { RunManifest, RunMetrics, SweepSummary, TimelineRecord } from '../../../src/results/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { waitFor } from '../../support/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PREFIX = `itflt${Math.random().toString(36).slice(2, 6)}`;
const runtime = dockerRuntime();
const FILTER = [`${LABELS.managed}=true`, LABELS.lab];

const ours = async () => (await runtime.containers.list(FILTER)).filter((c) => c.labels[LABELS.lab]?.startsWith(PREFIX));
async function removeLeftovers(): Promise<void> {
  for (const c of await ours()) await runtime.containers.remove(c.id).catch(() => {});
  for (const n of await runtime.networks.list(FILTER)) if (n.labels[LABELS.lab]?.startsWith(PREFIX)) await runtime.networks.remove(n.id).catch(() => {});
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'acklab-test-faults-'));
});
afterAll(async () => {
  await removeLeftovers();
  expect((await ours()).map((c) => c.name)).toEqual([]);
  await rm(work, { recursive: true, force: true });
}, 120_000);

/** Busy loops in child processes, each ending by itself after `ms` (and ended by the test before that). */
function cpuLoad(workers: number, ms: number): { stop: () => void } {
  const children: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) {
    children.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' }));
  }
  return { stop: () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')) };
}

/**
 * The machine's own stalls, as a reference measured in the same run: a process at the default
 * policy asking for a 20 ms timer again and again, each wake-up later than 100 ms beyond its time
 * recorded (a loaded or stalled machine delays everything at the default policy by as much).
 */
function stallProbe(ms: number): { stop: () => Promise<{ atMs: number; lateMs: number }[]> } {
  const script = `
    const stalls = []; let last = Date.now(); const end = last + ${ms};
    const tick = () => { const now = Date.now(); if (now - last - 20 > 100) stalls.push({ atMs: last + 20, lateMs: now - last - 20 }); last = now; if (now < end) setTimeout(tick, 20); else done(); };
    const done = () => { process.stdout.write(JSON.stringify(stalls)); process.exit(0); };
    process.on('SIGTERM', done); setTimeout(tick, 20);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const ended = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await ended;
      return out ? (JSON.parse(out) as { atMs: number; lateMs: number }[]) : [];
    },
  };
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
const metricsOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'metrics.json'), 'utf8')) as RunMetrics;

describe('a nemesis on 5 nodes under CPU load', () => {
  const name = `${PREFIX}n`;
  const yaml = `name: ${name}
seed: 11
duration: 14s
topology:
  name: ${name}
  nodes: { p1: { kind: mcast }, p2: { kind: mcast }, p3: { kind: mcast }, p4: { kind: mcast }, p5: { kind: mcast } }
  defaults:
    args:
      mcast: { count: 60, interval: 150ms, grace: 30s, duration: 13s }
conditions:
  - name: halves
    nemesis: ["every 1s partition random-halves from 1s until 12s"]
`;
  const sweeps: { summary: SweepSummary; manifest: RunManifest }[] = [];
  let load1 = 0;
  let stalls: { atMs: number; lateMs: number }[] = [];

  beforeAll(async () => {
    const file = path.join(work, 'nemesis.yaml');
    await writeFile(file, yaml);
    const load = cpuLoad(2, 150_000);
    const probe = stallProbe(200_000);
    try {
      for (const i of [1, 2]) {
        const out = path.join(work, `nemesis-${i}`);
        const { summary } = await runExperiment(parseExperiment(await readFile(file, 'utf8'), file), { outDir: out, images: inject('images') });
        sweeps.push({ summary, manifest: manifestOf(path.join(out, 'halves-r1')) });
        load1 = Math.max(load1, os.loadavg()[0]!);
      }
    } finally {
      load.stop();
      stalls = await probe.stop();
    }
  }, 300_000);

  it('every step is in force on all five nodes before the next one is due, never early, never half applied for long', () => {
    const steps: TimelineRecord[] = sweeps.flatMap((s) => s.manifest.timeline);
    // 11 partitions and the heal at "until", in each of the two runs
    expect(steps).toHaveLength(24);
    for (const s of sweeps) expect(s.manifest.status).toBe('ok');
    for (const step of steps) {
      expect(step.ok, `${step.text}: ${step.error}`).toBe(true);
      expect(Object.keys(step.nodes ?? {}).sort(), step.text).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
      // no node switches before its time
      for (const sw of Object.values(step.nodes!)) expect(sw.firedAtMs, step.text).toBeGreaterThanOrEqual(step.atMs);
    }
    const lags = steps.map((s) => s.appliedAtMs! - s.atMs);
    const spreads = steps.map((s) => s.spreadMs!);
    const stallMax = Math.max(0, ...stalls.map((x) => x.lateMs));
    const figures = { load1: load1.toFixed(1), lagP50: quantile(lags, 0.5), lagP95: quantile(lags, 0.95), lagMax: Math.max(...lags), spreadP95: quantile(spreads, 0.95), spreadMax: Math.max(...spreads), machineStallMax: stallMax };
    // the slowest steps, node by node (fired → switched, ms after the step's time), and the
    // machine's own stalls (wall clock), for a failure's reader
    const t0s = sweeps.map((s) => s.manifest.t0!);
    const slowest = [...steps]
      .sort((a, b) => b.appliedAtMs! - b.atMs - (a.appliedAtMs! - a.atMs))
      .slice(0, 3)
      .map((s) => `  ${s.text}: ${Object.entries(s.nodes ?? {}).map(([n, sw]) => `${n} ${sw.firedAtMs - s.atMs}→${(sw.switchedAtMs ?? NaN) - s.atMs}`).join(', ')}`);
    const seen = `nemesis steps on 5 nodes: ${JSON.stringify(figures)}\n${slowest.join('\n')}\n  runs' t0: ${t0s.join(', ')}; machine stalls: ${JSON.stringify(stalls.slice(0, 10))}`;
    console.log(seen);
    expect(load1).toBeGreaterThanOrEqual(2);
    // Coarse bounds that still catch steps applied one node after another (seconds late, half in
    // force): each step is in force everywhere before the next (1 s later) is due, and the nodes
    // switch within half a second of each other — beyond what the machine itself stalled in the
    // same run (a process at the default policy measures it: a stalled machine delays the agents'
    // work outside the step's real-time window by as much). Under this load (two busy loops beside
    // a 5-node lab on 2 cores) most steps land within 20 ms. The 50/100/20 ms targets: bench:faults.
    expect(figures.lagMax, seen).toBeLessThan(1000 + stallMax);
    expect(figures.spreadMax, seen).toBeLessThan(500 + stallMax);
  });

  it('the same seed replays the same groups, and the groups are recorded in the run', () => {
    const groups = (m: RunManifest) => m.timeline.map((t) => t.text);
    expect(groups(sweeps[0]!.manifest)).toEqual(groups(sweeps[1]!.manifest));
    expect(sweeps[0]!.manifest.timeline.map((t) => t.step)).toEqual(sweeps[1]!.manifest.timeline.map((t) => t.step));
    // the chosen halves are written out: "… random-halves: p2,p4 | p1,p3,p5"
    expect(groups(sweeps[0]!.manifest)[0]).toMatch(/random-halves.*p\d(,p\d)* \| p\d(,p\d)*/);
    // and they are not all the same split
    expect(new Set(groups(sweeps[0]!.manifest).slice(0, 11)).size).toBeGreaterThan(1);
  });
});

describe('a condition lost during a run', () => {
  it('a killed helper and a rule removed from outside make their runs invalid within 1 s, and acklab run exits 1', { timeout: 300_000 }, async () => {
    const name = `${PREFIX}l`;
    const file = path.join(work, 'lost.yaml');
    await writeFile(
      file,
      `name: ${name}
seed: 3
duration: 14s
topology:
  name: ${name}
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server, interval: 200ms, duration: 12s } }
conditions:
  - name: helper-killed
    links: [{ from: client, to: server, delay: 20ms }]
  - name: rule-removed
    links: [{ from: client, to: server, delay: 20ms }]
`,
    );
    const out = path.join(work, 'lost');
    const child = execa('node', [path.join(ROOT, 'bin/acklab.js'), 'run', file, '--out', out, '--parallel', '2'], { reject: false, env: { CI: 'true', NO_COLOR: '1' }, all: true });
    let output = '';
    child.all!.on('data', (b: Buffer) => (output += b.toString()));
    try {
      for (const run of ['helper-killed-r1', 'rule-removed-r1']) {
        await waitFor(`${run} to run its workload`, () => new RegExp(`${run}: running \\(`).test(output), { timeoutMs: 180_000, everyMs: 200 });
      }
      const sidecar = async (condition: string) => {
        const all = await runtime.containers.list(FILTER);
        // the run's lab name carries the run index: helper-killed is run 1, rule-removed run 2
        const lab = all.find((c) => c.labels[LABELS.node] === 'client' && c.labels[LABELS.role] === 'node' && c.labels[LABELS.lab]?.startsWith(name) && c.labels[LABELS.lab]?.endsWith(condition === 'helper-killed' ? '-1' : '-2'));
        return all.find((c) => c.labels[LABELS.role] === 'sidecar' && c.labels[LABELS.lab] === lab?.labels[LABELS.lab] && c.labels[LABELS.node] === 'client');
      };
      const killer = (await sidecar('helper-killed'))!;
      const remover = (await sidecar('rule-removed'))!;
      const seen = async () => JSON.stringify((await runtime.containers.list(FILTER)).filter((c) => c.labels[LABELS.lab]?.startsWith(name)).map((c) => [c.name, c.labels[LABELS.role], c.labels[LABELS.node]]));
      expect(killer, `sidecar of client in helper-killed among ${await seen()}`).toBeDefined();
      expect(remover, `sidecar of client in rule-removed among ${await seen()}`).toBeDefined();
      // the kernel-side clock of each deed is taken in the container, right before it
      const kill = await runtime.containers.exec(killer.id, ['sh', '-c', 'f=$(ls /run/acklab-nfq/*.pid | head -n1); date +%s%3N; kill -KILL "$(cat "$f")"']);
      const flush = await runtime.containers.exec(remover.id, ['sh', '-c', 'date +%s%3N; iptables -w 5 -t mangle -F ACKLAB-IMPAIR']);
      expect(kill.exitCode, kill.stderr).toBe(0);
      expect(flush.exitCode, flush.stderr).toBe(0);
      const deeds = { 'helper-killed-r1': Number(kill.stdout.trim()), 'rule-removed-r1': Number(flush.stdout.trim()) };

      const result = await child;
      expect(result.exitCode, output).toBe(1);
      expect(output).toMatch(/verdict: INVALID/);
      expect(output).toMatch(/INVALID +helper-killed-r1\n +conditions: at \+\d+\.\d\ds client: the helper for client -> server \(queue \d+\) exited \(SIGKILL\)/);
      expect(output).toMatch(/INVALID +rule-removed-r1\n +conditions: at \+\d+\.\d\ds client: /);
      // the terminal table says why the row has no numbers
      expect(output).toMatch(/helper-killed +│ 0\/1 \(1 invalid\)/);

      const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
      expect(summary.runs.map((r) => [r.dir, r.status, r.verdict?.verdict])).toEqual([
        ['helper-killed-r1', 'invalid', 'invalid'],
        ['rule-removed-r1', 'invalid', 'invalid'],
      ]);
      for (const [run, at] of Object.entries(deeds)) {
        const manifest = manifestOf(path.join(out, run));
        expect(manifest.status).toBe('invalid');
        expect(metricsOf(path.join(out, run)).status).toBe('invalid');
        const loss = manifest.invalid![0]!;
        expect(loss.reason).toMatch(run === 'helper-killed-r1' ? /helper .* exited/ : /^client: the acklab rules on client were changed from outside/);
        // noticed within 1 s of the deed
        expect(loss.atMs - (at - manifest.t0!), `${run}: noticed at ${loss.atMs} ms, done at ${at - manifest.t0!} ms`).toBeLessThanOrEqual(1000);
        expect(loss.atMs - (at - manifest.t0!)).toBeGreaterThanOrEqual(0);
      }
      expect(readFileSync(path.join(out, 'summary.csv'), 'utf8')).toMatch(/^helper-killed-r1,helper-killed,1,invalid,invalid,/m);
      expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(/invalid/i);
      expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toMatch(/the helper for client -(&gt;|>|\\u003e) server/);
    } finally {
      if (child.exitCode === null) child.kill('SIGINT');
      await child;
    }
    expect((await ours()).filter((c) => c.labels[LABELS.lab]?.startsWith(name))).toEqual([]);
  });
});

describe('process faults in a timeline', () => {
  it('kill, stop, start, restart, pause and resume: each at its time, with what the programs did about it', { timeout: 240_000 }, async () => {
    const name = `${PREFIX}p`;
    const file = path.join(work, 'process.yaml');
    await writeFile(
      file,
      `name: ${name}
seed: 5
duration: 16s
topology:
  name: ${name}
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server, interval: 200ms, duration: 12s, reconnect: true } }
    p1: { kind: mcast }
    p2: { kind: mcast }
    p3: { kind: mcast }
  defaults:
    args:
      mcast: { count: 200, interval: 50ms, grace: 1s, duration: 15s }
conditions:
  - name: crashes
    timeline:
      - at: 2s stop server
      - at: 3s start server
      - at: 6s restart server
      - at: 9s kill server
      - at: 2s pause p3
      - at: 5s resume p3
`,
    );
    const out = path.join(work, 'process');
    const { summary } = await runExperiment(parseExperiment(await readFile(file, 'utf8'), file), { outDir: out, images: inject('images') });
    const dir = path.join(out, 'crashes-r1');
    const manifest = manifestOf(dir);
    expect(summary.runs[0]!.status).toBe('ok');

    // each recorded at its time (a stop waits for the program's exit; the rest are quick)
    const byText = new Map(manifest.timeline.map((t) => [t.text, t]));
    for (const [text, atMs] of [['at 2s stop server', 2000], ['at 3s start server', 3000], ['at 6s restart server', 6000], ['at 9s kill server', 9000], ['at 2s pause p3', 2000], ['at 5s resume p3', 5000]] as const) {
      const t = byText.get(text)!;
      expect(t, text).toBeDefined();
      expect(t.ok, `${text}: ${t.error}`).toBe(true);
      expect(t.startedAtMs!, text).toBeGreaterThanOrEqual(atMs);
      expect(t.startedAtMs!, text).toBeLessThan(atMs + 500);
      expect(t.appliedAtMs!, text).toBeGreaterThanOrEqual(t.startedAtMs!);
    }

    const metrics = metricsOf(dir);
    // the client lost its server three times (stop, restart, kill) and came back twice (the server
    // is up 3 s between its start and its restart: its container and program start, then the
    // client's backoff of at most 1 s)
    const client = metrics.peer!.clients[0]!;
    expect(client.connectionsLost).toBeGreaterThanOrEqual(3);
    expect(client.connectionsMade).toBeGreaterThanOrEqual(3);
    expect(client.acksReceived).toBeGreaterThan(0);
    // the server's log shows three starts: the first, start, restart
    const serverOut = readFileSync(path.join(dir, 'nodes/server/stdout.log'), 'utf8');
    expect(serverOut.match(/^Starting server @/gm)).toHaveLength(3);
    // the frozen p3 was suspected by both others after --grace (1 s) of silence
    for (const node of ['p1', 'p2']) {
      const m = metrics.mcast!.nodes.find((n) => n.node === node)!;
      expect(m.peersLost.map((l) => l.peer)).toContain(3);
      expect(m.peersLost.find((l) => l.peer === 3)!.reason).toMatch(/^silent for \d+ ms \(--grace 1000 ms\)/);
    }
    expect(metrics.mcast!.peersLost).toBeGreaterThanOrEqual(2);
  });
});
