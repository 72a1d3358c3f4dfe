/**
 * The experiment runner: for each condition × repetition, an isolated lab (its own name, so its
 * own containers and networks; runs can go in parallel), conditions applied, workload started,
 * timeline played, end awaited, everything collected — and the lab taken down ALWAYS, after a
 * failure or Ctrl-C too, keeping what was collected. Then the sweep's summary and report.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { errorMessage } from '../common/index.js';
import { ensureImages, REPO_ROOT, type ImageTags } from '../images/index.js';
import { Lab, removeByLabels, labSelector, type StartedLab } from '../lab/index.js';
import { dockerClient, dockerRuntime } from '../runtime/index.js';
import type { Topology } from '../topology/index.js';
import { describeAction } from './actions.js';
import { collectNode, stopContainers } from './collect.js';
import { checkNodeNames, type Condition, type Experiment, type LoadedExperiment } from './experiment-file.js';
import { networkPlayer, type NetworkPlayer } from './network.js';
import { createProgress, type ProgressSink, type RunLabel } from './progress.js';
import { deriveSeed } from './rng.js';
import {
  RUN_FILES,
  RUN_FORMAT_VERSION,
  SWEEP_FILES,
  runDirName,
  type ConditionSnapshot,
  type HostFacts,
  type RunManifest,
  type RunStatus,
  type SweepRun,
  type SweepSummary,
} from './run-format.js';
import { computeRunMetrics, writeJson } from './run-folder.js';
import { buildSummary, writeSweepOutputs } from './summary.js';
import { CONTAINER_OUT, experimentTopology, runLabName, runTopology } from './topology.js';

/** How long the runner waits for programs to exit on SIGTERM (they wait for outstanding acks first). */
export const STOP_GRACE_MS = 10_000;

export interface RunnerOptions {
  /** Sweep folder; default lab/runs/<timestamp>-<name> under the current directory. */
  outDir?: string;
  /** Runs at once (each its own lab). Default 1. */
  parallel?: number;
  /** Abort (Ctrl-C): running runs stop, are collected and taken down; pending runs are skipped. */
  signal?: AbortSignal;
  progress?: ProgressSink;
  images?: ImageTags;
  now?: () => Date;
}

export interface SweepResult {
  dir: string;
  summary: SweepSummary;
}

interface PlannedRun extends RunLabel {
  condition: Condition;
  repetition: number;
}

export function planRuns(experiment: Experiment): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (let rep = 1; rep <= experiment.repetitions; rep++) {
    // repetition-major: with --parallel, every condition gets its first run early
    for (const condition of experiment.conditions) {
      runs.push({ condition, repetition: rep, dir: runDirName(condition.name, rep), index: runs.length });
    }
  }
  return runs;
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function defaultSweepDir(experiment: Experiment, now: Date): string {
  return path.resolve('lab', 'runs', `${timestamp(now)}-${experiment.name}`);
}

function abortable(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(done, Math.max(0, ms));
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

async function hostFacts(): Promise<HostFacts> {
  return { hostname: os.hostname(), platform: os.platform(), release: os.release(), arch: os.arch(), cpus: os.cpus().length, memoryBytes: os.totalmem() };
}

async function versions(): Promise<RunManifest['versions']> {
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const docker = await dockerClient().version().then((v) => v.Version, () => null);
  return { acklab: pkg.version, node: process.version, docker };
}

async function gitCommit(): Promise<string | null> {
  const r = await execa('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** Runs every condition × repetition of an experiment and writes the sweep folder. */
export async function runExperiment(loaded: LoadedExperiment, options: RunnerOptions = {}): Promise<SweepResult> {
  const { experiment } = loaded;
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const base = await experimentTopology(experiment, loaded.source);
  checkNodeNames(loaded, base.nodes.map((n) => n.name));

  const sweepDir = path.resolve(options.outDir ?? defaultSweepDir(experiment, startedAt));
  await mkdir(sweepDir, { recursive: true });
  if (experiment.file.endsWith('.yaml') || experiment.file.endsWith('.yml')) {
    await copyFile(experiment.file, path.join(sweepDir, SWEEP_FILES.experiment)).catch(() => {});
  }
  const planned = planRuns(experiment);
  const parallel = Math.max(1, Math.min(options.parallel ?? 1, planned.length));
  const progress =
    options.progress ??
    createProgress({ total: planned.length, parallel, expectedRunMs: experiment.durationMs + 8_000 });
  const sweepId = randomBytes(3).toString('hex');
  // every node's readiness wait listens on the one abort signal
  if (options.signal) setMaxListeners(200, options.signal);
  const context: RunContext = {
    experiment,
    base,
    sweepDir,
    sweepId,
    progress,
    signal: options.signal,
    images: options.images ?? (await ensureImages({ log: (l) => progress.log(`images: ${l}`) })),
    versions: await versions(),
    host: await hostFacts(),
    gitCommit: await gitCommit(),
    startLock: Promise.resolve(),
  };

  const results: SweepRun[] = [];
  let next = 0;
  const worker = async () => {
    while (next < planned.length && !options.signal?.aborted) {
      const run = planned[next++]!;
      results.push(await runOne(context, run));
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    progress.close();
  }
  results.sort((a, b) => planned.findIndex((p) => p.dir === a.dir) - planned.findIndex((p) => p.dir === b.dir));
  const summary = buildSummary(
    {
      experiment: experiment.name,
      file: experiment.file,
      seed: experiment.seed,
      repetitions: experiment.repetitions,
      startedAt: startedAt.toISOString(),
      endedAt: now().toISOString(),
      interrupted: options.signal?.aborted ?? false,
    },
    results,
  );
  await writeSweepOutputs(sweepDir, summary);
  return { dir: sweepDir, summary };
}

interface RunContext {
  experiment: Experiment;
  base: Topology;
  sweepDir: string;
  sweepId: string;
  progress: ProgressSink;
  signal: AbortSignal | undefined;
  images: ImageTags;
  versions: RunManifest['versions'];
  host: HostFacts;
  gitCommit: string | null;
  /** Resolves when the previous lab start is done (see startLab). */
  startLock: Promise<void>;
}

async function runOne(ctx: RunContext, run: PlannedRun): Promise<SweepRun> {
  const { experiment, progress, signal } = ctx;
  const began = Date.now();
  const runDir = path.join(ctx.sweepDir, run.dir);
  await mkdir(runDir, { recursive: true });
  const labName = runLabName(experiment.name, ctx.sweepId, run.index);
  const runId = `${ctx.sweepId}-${run.index + 1}`;
  const { topology, outputs, gated } = runTopology(ctx.base, experiment, labName);
  const seed = deriveSeed(experiment.seed, run.condition.name, run.repetition);
  const problems: string[] = [];
  const snapshots: ConditionSnapshot[] = [];
  const manifest: RunManifest = {
    formatVersion: RUN_FORMAT_VERSION,
    kind: 'acklab-run',
    runId,
    experiment,
    condition: run.condition,
    repetition: run.repetition,
    seed,
    topology,
    backend: null,
    images: { ...ctx.images },
    versions: ctx.versions,
    host: ctx.host,
    gitCommit: ctx.gitCommit,
    status: 'ok',
    startedAt: new Date(began).toISOString(),
    endedAt: '',
    t0: null,
    nodes: [],
    timeline: run.condition.timeline.map((step) => ({ atMs: step.atMs, startedAtMs: null, appliedAtMs: null, text: step.text, step, ok: false })),
  };
  progress.runStarted(run);
  let lab: StartedLab | undefined;
  let net: NetworkPlayer | undefined;
  const snapshot = async (label: string, atMs: number) => {
    if (!net) return;
    try {
      snapshots.push({ label, atMs, state: await net.read() });
    } catch (err) {
      snapshots.push({ label, atMs, state: null, error: errorMessage(err) });
    }
  };
  let status: RunStatus = 'ok';
  try {
    progress.runPhase(run, 'starting lab');
    lab = await startLab(ctx, topology, runId, (line) => progress.runPhase(run, line));
    net = networkPlayer(lab, ctx.images.shaper, { seed });
    if (run.condition.timeline.length > 0) {
      progress.runPhase(run, 'preparing sidecars for the timeline');
      await net.prepare();
    }
    for (const action of run.condition.actions) {
      progress.runPhase(run, describeAction(action));
      await net.apply(action);
    }
    if (run.condition.actions.length > 0 || topology.links.length > 0) await snapshot('start', 0);
    // t0: the workload starts now, with the condition already in force.
    const t0 = Date.now();
    manifest.t0 = t0;
    await openGate(lab, gated);
    progress.runPhase(run, `running (${experiment.durationMs / 1000}s)`);
    for (const [i, step] of run.condition.timeline.entries()) {
      await abortable(t0 + step.atMs - Date.now(), signal);
      const record = manifest.timeline[i]!;
      record.startedAtMs = Date.now() - t0;
      try {
        await net.apply(step.action);
        record.appliedAtMs = Date.now() - t0;
        record.ok = true;
        progress.runPhase(run, step.text);
      } catch (err) {
        record.error = errorMessage(err);
        problems.push(`timeline step "${step.text}" failed: ${record.error}`);
      }
      await snapshot(step.text, Date.now() - t0);
    }
    await waitForEnd(lab, t0 + experiment.durationMs, signal);
  } catch (err) {
    status = signal?.aborted ? 'interrupted' : 'failed';
    manifest.error = signal?.aborted ? 'interrupted (Ctrl-C)' : errorMessage(err);
  } finally {
    if (lab) {
      progress.runPhase(run, 'collecting');
      try {
        // clients and mesh first, so servers still answer while they drain and write their summaries
        const servers = lab.nodes.filter((n) => n.spec.role === 'server');
        await stopContainers(lab.nodes.filter((n) => !servers.includes(n)).map((n) => n.containerId), STOP_GRACE_MS);
        await stopContainers(servers.map((n) => n.containerId), STOP_GRACE_MS);
        for (const node of lab.nodes) {
          manifest.nodes.push(
            await collectNode(runDir, { name: node.name, kind: node.kind, containerId: node.containerId, addresses: node.addresses, command: node.spec.command, outputs: outputs.get(node.name)! }, problems),
          );
        }
        // the player knows when it applied something; topology links were applied by the lab's start step
        const readBack = snapshots.map((x) => (x.state as { backend?: { backend?: string } } | null)?.backend?.backend).find(Boolean);
        manifest.backend = (await net?.backend().catch(() => null)) ?? readBack ?? null;
      } catch (err) {
        problems.push(`collecting failed: ${errorMessage(err)}`);
      }
    }
    progress.runPhase(run, 'taking the lab down');
    // By lab name (unique to this run): the lab's containers, networks and sidecars, even if start() failed halfway.
    await (lab?.stop() ?? Promise.resolve())
      .then(() => removeByLabels(dockerRuntime(), labSelector(labName)))
      .catch((err: unknown) => problems.push(`taking the lab down failed: ${errorMessage(err)}`));
    manifest.status = status;
    manifest.endedAt = new Date().toISOString();
    if (problems.length > 0) manifest.error = [manifest.error, ...problems].filter(Boolean).join('; ');
    await writeJson(path.join(runDir, RUN_FILES.manifest), manifest);
    await writeFile(path.join(runDir, RUN_FILES.conditions), `${JSON.stringify(snapshots, null, 2)}\n`);
  }
  const metrics = await computeRunMetrics(runDir).catch((err: unknown) => {
    problems.push(`metrics: ${errorMessage(err)}`);
    return null;
  });
  if (metrics) await writeJson(path.join(runDir, RUN_FILES.metrics), metrics);
  const shown = metrics?.crashed ? `${status}, workload crashed` : status;
  progress.runFinished(run, shown, Date.now() - began);
  return { dir: run.dir, condition: run.condition.name, repetition: run.repetition, status, metrics };
}

/**
 * Starts one run's lab. Starts are serialised within a sweep (they are short next to a run, and
 * concurrent network creation races for the same free subnet on the engine); a start that lost
 * such a race anyway (another process took the subnet) is retried.
 */
async function startLab(ctx: RunContext, topology: Topology, runId: string, onProgress: (line: string) => void): Promise<StartedLab> {
  const previous = ctx.startLock;
  let release!: () => void;
  ctx.startLock = new Promise<void>((r) => (release = r));
  await previous;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Lab.fromTopology(topology).start({ images: ctx.images, runId, ...(ctx.signal ? { signal: ctx.signal } : {}), onProgress });
      } catch (err) {
        if (attempt >= 3 || ctx.signal?.aborted || !/overlap/i.test(errorMessage(err))) throw err;
        onProgress(`network subnet taken meanwhile; starting again (attempt ${attempt + 1})`);
      }
    }
  } finally {
    release();
  }
}

/** Opens the start gate of every gated node (see topology.ts gateCommand). */
async function openGate(lab: StartedLab, gated: string[]): Promise<void> {
  await Promise.all(
    gated.map(async (name) => {
      const r = await lab.exec(name, ['touch', CONTAINER_OUT.go]);
      if (r.exitCode !== 0) throw new Error(`could not start the workload on ${name}: touch ${CONTAINER_OUT.go} exited ${r.exitCode}: ${r.stderr.trim()}`);
    }),
  );
}

/** Until the end of the run, or earlier once every client and mesh node has exited on its own. */
async function waitForEnd(lab: StartedLab, endAt: number, signal?: AbortSignal): Promise<void> {
  const finite = lab.nodes.filter((n) => n.spec.role === 'client' || n.spec.role === 'mesh');
  while (Date.now() < endAt) {
    await abortable(Math.min(500, endAt - Date.now()), signal);
    if (finite.length === 0) continue;
    const states = await Promise.all(finite.map((n) => lab.state(n.name).catch(() => ({ running: false }))));
    if (states.every((s) => !s.running)) return;
  }
}
