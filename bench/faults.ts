/**
 * bench:faults — how punctual timeline steps are, and how quick the condition verbs are on a running lab.
 *
 *   steps  A 5-node lab. A random-halves nemesis every 400 ms (20 partitions and the end), staged on
 *          every node's agent and started against one zero, as `acklab run` plays a timeline; per
 *          step: lag (in force on the last node − due) and spread (last node − first node).
 *          Twice: on the machine as it is, and with a bounded CPU load (2 busy loops, ≤ 60 s).
 *          Targets (issue 11): lag ≤ 50 ms p95 and ≤ 100 ms max, spread ≤ 20 ms p95.
 *   verbs  `acklab impair|partition|heal|conditions` on the running lab, 10 times each (warm: the
 *          sidecars exist), next to `docker exec NODE true` in the same rounds as the reference.
 *          Target: ≤ 0.7 s median per verb.
 *
 * Traffic: none beyond the lab's own containers. The lab is named per process and always removed.
 *
 *   npm run bench:faults      (BENCH_FAULTS_ROUNDS=10)
 */
import Table from 'cli-table3';
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { max, median, quantile } from 'simple-statistics';
import { createRng } from '../src/common/index.js';
import { expandNemesis, parseNemesis } from '../src/conditions/index.js';
import { ensureImages } from '../src/images/index.js';
import { openController, stepOps, type ImpairController, type LabEvent, type LabStep } from '../src/impair/index.js';
import { Lab } from '../src/lab/index.js';
import { dockerRuntime } from '../src/runtime/index.js';
import { parseTopology } from '../src/topology/index.js';

const LAB = `acklab-bench-faults-${process.pid}`;
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const ROUNDS = Number(process.env.BENCH_FAULTS_ROUNDS ?? 10);
const CLI = path.resolve(import.meta.dirname, '../../bin/acklab.js');

function cpuLoad(workers: number, ms: number): { stop: () => void } {
  const children: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) children.push(spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' }));
  return { stop: () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')) };
}

interface StepFigures {
  steps: number;
  lags: number[];
  spreads: number[];
  missing: number;
  load1: number;
}

/** When each step switched on each node, from the agents' events (one watch for the whole bench). */
const switched = new Map<string, number[]>();
const onEvent = (e: LabEvent) => {
  if (e.event === 'switched' && e.stepId) switched.set(e.stepId, [...(switched.get(e.stepId) ?? []), e.switchedAtMs]);
};

/** One nemesis schedule played on the lab's agents; what each node reported. */
async function playSteps(ctl: ImpairController, seed: number): Promise<StepFigures> {
  const expanded = expandNemesis(parseNemesis('every 400ms partition random-halves from 400ms until 8400ms'), 0, NODES, createRng(seed), 9000);
  const steps: LabStep[] = expanded.map((s, i) => ({ id: `b${seed}-${i}`, atMs: s.atMs, ops: stepOps(s.action, NODES) }));
  await ctl.schedule(steps);
  const t0 = Date.now() + 500;
  await ctl.start(t0);
  await new Promise((r) => setTimeout(r, t0 + 9000 + 1500 - Date.now()));
  const lags: number[] = [];
  const spreads: number[] = [];
  let missing = 0;
  for (const s of steps) {
    const times = switched.get(s.id) ?? [];
    if (times.length < s.ops.size) {
      missing++;
      continue;
    }
    lags.push(Math.max(...times) - (t0 + s.atMs));
    spreads.push(Math.max(...times) - Math.min(...times));
  }
  return { steps: steps.length, lags, spreads, missing, load1: os.loadavg()[0]! };
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const images = await ensureImages({ log: () => {} });
  const topo = parseTopology(`name: ${LAB}\nnodes:\n${NODES.map((n) => `  ${n}: { kind: custom, args: { command: [sleep, infinity] } }`).join('\n')}\n`, 'bench/faults.ts');
  const lab = await Lab.fromTopology(topo).start({ images });
  const started = performance.now();
  try {
    const ctl = await openController(dockerRuntime(), LAB, { shaperImage: async () => images.shaper, log: () => {} });
    await ctl.prepare();
    await ctl.watch(onEvent);
    const quiet = await playSteps(ctl, 1);
    const load = cpuLoad(2, 60_000);
    let loaded: StepFigures;
    try {
      loaded = await playSteps(ctl, 2);
    } finally {
      load.stop();
    }
    await ctl.heal();
    ctl.close();

    const steps = new Table({ head: ['machine', 'load1', 'steps', 'lag p50', 'lag p95', 'lag max', 'spread p50', 'spread p95', 'ok (≤50/≤100/≤20)'], style: { head: [], border: [] } });
    for (const [name, f] of [['as it is', quiet], ['+2 busy loops', loaded]] as const) {
      const ok = f.missing === 0 && quantile(f.lags, 0.95) <= 50 && max(f.lags) <= 100 && quantile(f.spreads, 0.95) <= 20;
      steps.push([name, f.load1.toFixed(1), `${f.steps - f.missing}/${f.steps}`, `${median(f.lags)} ms`, `${quantile(f.lags, 0.95)} ms`, `${max(f.lags)} ms`, `${median(f.spreads)} ms`, `${quantile(f.spreads, 0.95)} ms`, ok ? 'yes' : 'NO']);
    }

    // verbs, interleaved with the reference so load drift hits both
    const node1 = lab.node('n1').containerId;
    const verbs: [string, string[]][] = [
      ['impair', ['impair', LAB, 'n1', '--to', 'n2', '--delay', '10ms']],
      ['partition', ['partition', LAB, 'n1,n2', 'n3,n4,n5']],
      ['heal', ['heal', LAB]],
      ['conditions', ['conditions', LAB]],
    ];
    const times = new Map<string, number[]>([['docker exec NODE true', []], ...verbs.map(([v]) => [v, []] as [string, number[]])]);
    for (let i = 0; i < ROUNDS; i++) {
      times.get('docker exec NODE true')!.push(await timed(() => execa('docker', ['exec', node1, 'true'])));
      for (const [name, args] of verbs) times.get(name)!.push(await timed(() => execa('node', [CLI, ...args], { env: { NO_COLOR: '1' }, reject: false })));
    }
    const ref = median(times.get('docker exec NODE true')!);
    const verbTable = new Table({ head: ['command', 'median', 'p90', 'vs docker exec', 'ok (≤ 0.7 s)'], style: { head: [], border: [] } });
    for (const [name, t] of times) {
      const m = median(t);
      verbTable.push([name, `${m.toFixed(3)} s`, `${quantile(t, 0.9).toFixed(3)} s`, `${(m / ref).toFixed(1)}×`, name.startsWith('docker') ? '(reference)' : m <= 0.7 ? 'yes' : 'NO']);
    }
    const startup = await Promise.all([0, 1, 2].map(() => timed(() => execa('node', [CLI, '--version'], { reject: false }))));
    process.stdout.write(
      [
        `## bench:faults — 5-node lab, ${os.cpus().length} CPUs`,
        '',
        'timeline steps (random-halves every 400 ms; lag: in force on the last node − due; spread: last − first node)',
        steps.toString(),
        '',
        `condition verbs on the running lab (${ROUNDS} rounds, warm)`,
        verbTable.toString(),
        `acklab --version alone (process start and imports): median ${median(startup).toFixed(3)} s`,
        `total ${((performance.now() - started) / 1000).toFixed(0)} s`,
        '',
      ].join('\n'),
    );
  } finally {
    await lab.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:faults failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
