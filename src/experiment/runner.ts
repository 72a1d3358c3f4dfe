/**
 * The experiment runner: for each condition × repetition, an isolated lab (its own name, so its
 * own containers and networks; runs can go in parallel). One run is five phases:
 *
 *   start     the lab is up (topology links in force), sidecars ready, the condition applied
 *   play      the workload starts (t0), the timeline is played, the end is awaited
 *   collect   programs stopped, their output copied into the run folder
 *   teardown  the lab removed — ALWAYS, after a failure or Ctrl-C too, keeping what was collected
 *   record    manifest, conditions and metrics written; the run loaded back once (src/results)
 *
 * Then the sweep's summary (src/results). Reports are written by the caller (src/report).
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { AcklabError, errorMessage } from '../common/index.js';
import { describeAction } from '../conditions/index.js';
import { buildKey, ensureImages, ensureTopologyImages, REPO_ROOT, type BuiltImages, type ImageTags } from '../images/index.js';
import { Lab, labSelector, removeByLabels, runtimeForTopology, type StartedLab } from '../lab/index.js';
import {
  RUN_FILES,
  RUN_FORMAT_VERSION,
  SWEEP_FILES,
  buildSummary,
  loadRun,
  runDirName,
  sweepRunOf,
  writeJson,
  writeSummaryFiles,
  type Condition,
  type ConditionSnapshot,
  type Experiment,
  type HostFacts,
  type LoadedRun,
  type RunManifest,
  type RunStatus,
  type SweepRun,
  type SweepSummary,
} from '../results/index.js';
import { dockerRuntime, type Runtime } from '../runtime/index.js';
import { DEFAULT_MAX_NODES, type Topology } from '../topology/index.js';
import { collectNode, stopContainers } from './collect.js';
import { TimelineLog, labSteps, playedSteps, runProcessFault } from './timeline.js';
import { checkNodeNames, type LoadedExperiment } from './experiment-file.js';
import { networkPlayer, type NetworkPlayer } from './player.js';
import { createProgress, type ProgressSink, type RunLabel } from './progress.js';
import { deriveSeed } from '../common/index.js';
import { CONTAINER_OUT, experimentTopology, nodesNeedingImageArgv, runLabName, runTopology, type ImageArgv, type NodeOutputs } from './topology.js';

/** How long the runner waits for programs to exit on SIGTERM (they wait for outstanding acks first). */
export const STOP_GRACE_MS = 10_000;
/** Between choosing t0 and t0: time for every agent to arm its steps (even a step at 0 s; see ARM_AHEAD_MS). */
const START_LEAD_MS = 400;

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
  runtime?: Runtime;
  /** How a run's network actions are played (tests substitute their own). */
  player?: (lab: StartedLab, seed: number) => NetworkPlayer;
  /** Write into an `outDir` that exists and is not empty (its run folders of the same names are replaced). */
  force?: boolean;
  /** The most nodes at once: one lab's, and all parallel runs' together (default 100). */
  maxNodes?: number;
}

export interface SweepResult {
  dir: string;
  summary: SweepSummary;
  /** Every run that could be read back, loaded once, for the reports. */
  runs: LoadedRun[];
}

export interface PlannedRun extends RunLabel {
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

/** Refuses an `--out` folder that holds something already (an earlier sweep), unless forced. */
export async function checkSweepDir(dir: string, force = false): Promise<void> {
  const entries = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    if (err.code === 'ENOTDIR') throw new AcklabError(`--out ${dir} is a file, not a folder`, 2);
    throw err;
  });
  if (entries.length > 0 && !force) {
    throw new AcklabError(`--out ${dir} already exists and is not empty (an earlier sweep?); choose another folder, or add --force to write into it (run folders of the same names are replaced)`, 2);
  }
}

/**
 * The default sweep folder, claimed with a non-recursive mkdir (atomic): two sweeps of the same
 * experiment started in the same second get `…-name` and `…-name-2`, never one folder.
 */
export async function claimDefaultSweepDir(base: string): Promise<string> {
  await mkdir(path.dirname(base), { recursive: true });
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    try {
      await mkdir(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || n >= 1000) throw err;
    }
  }
}

export interface PreparedExperiment {
  base: Topology;
  planned: PlannedRun[];
  parallel: number;
}

/**
 * Everything checked before anything is created: the topology (and the experiment's node names
 * against it), the runs, and the node ceiling — one lab's nodes and all parallel runs' together.
 */
export async function prepareExperiment(loaded: LoadedExperiment, options: { parallel?: number; maxNodes?: number } = {}): Promise<PreparedExperiment> {
  const { experiment } = loaded;
  const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
  const base = await experimentTopology(experiment, loaded.source, { maxNodes });
  checkNodeNames(loaded, base.nodes.map((n) => n.name));
  const planned = planRuns(experiment);
  const parallel = Math.max(1, Math.min(options.parallel ?? 1, planned.length));
  if (base.nodes.length * parallel > maxNodes) {
    throw new AcklabError(
      `${parallel} parallel runs of ${base.nodes.length} nodes make ${base.nodes.length * parallel} containers at once, more than the ceiling of ${maxNodes} (--max-nodes); lower --parallel or raise --max-nodes`,
      2,
    );
  }
  return { base, planned, parallel };
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

function hostFacts(): HostFacts {
  return { hostname: os.hostname(), platform: os.platform(), release: os.release(), arch: os.arch(), cpus: os.cpus().length, memoryBytes: os.totalmem() };
}

async function versions(runtime: Runtime): Promise<RunManifest['versions']> {
  const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const docker = await runtime.engine.facts().then((f) => f.version, () => null);
  return { acklab: pkg.version, node: process.version, docker };
}

async function gitCommit(): Promise<string | null> {
  const r = await execa('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

interface SweepContext {
  experiment: Experiment;
  base: Topology;
  sweepDir: string;
  sweepId: string;
  progress: ProgressSink;
  signal: AbortSignal | undefined;
  /** Over every engine of the lab (its topology's engines: or the one engine). */
  runtime: Runtime;
  /** The engine acklab talks to: images are built there, and labs started from it. */
  home: Runtime;
  images: ImageTags;
  /** The topology's build contexts, built once for the sweep. */
  built: BuiltImages;
  /** ENTRYPOINT and CMD of the images of nodes that run their own (see runTopology). */
  imageArgv: ReadonlyMap<string, ImageArgv>;
  versions: RunManifest['versions'];
  host: HostFacts;
  gitCommit: string | null;
  player: (lab: StartedLab, seed: number) => NetworkPlayer;
  /** Resolves when the previous lab start is done (see startLab). */
  startLock: Promise<void>;
  maxNodes: number;
}

/** Runs every condition × repetition of an experiment and writes the sweep folder. */
export async function runExperiment(loaded: LoadedExperiment, options: RunnerOptions = {}): Promise<SweepResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const { ctx, planned, parallel } = await prepareSweep(loaded, options, startedAt);
  const results: { run: PlannedRun; sweepRun: SweepRun; loaded: LoadedRun | null }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < planned.length && !options.signal?.aborted) {
      const run = planned[next++]!;
      results.push({ run, ...(await runOne(ctx, run)) });
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    ctx.progress.close();
  }
  results.sort((a, b) => a.run.index - b.run.index);
  const { experiment } = loaded;
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
    results.map((r) => r.sweepRun),
  );
  await writeSummaryFiles(ctx.sweepDir, summary);
  return { dir: ctx.sweepDir, summary, runs: results.flatMap((r) => (r.loaded ? [r.loaded] : [])) };
}

/** The sweep folder, the base topology (checked against the experiment), images and host facts. */
async function prepareSweep(loaded: LoadedExperiment, options: RunnerOptions, startedAt: Date) {
  const { experiment } = loaded;
  const { base, planned, parallel } = await prepareExperiment(loaded, options);
  // An --out holding an earlier sweep is refused before anything is built or written.
  const outDir = options.outDir === undefined ? undefined : path.resolve(options.outDir);
  if (outDir !== undefined) await checkSweepDir(outDir, options.force);
  // Over the topology's engines when it names some (logs, copies and faults reach every node).
  // Images are built on the engine acklab talks to (`home`); each lab loads them onto its engines.
  const home = options.runtime ?? dockerRuntime();
  const runtime = runtimeForTopology(home, base);
  const progress = options.progress ?? createProgress({ total: planned.length, parallel, expectedRunMs: experiment.durationMs + 8_000 });
  let built: BuiltImages;
  let imageArgv: Map<string, ImageArgv>;
  try {
    // Build contexts first: a failed build stops the sweep before any run (or folder), naming its topology line.
    built = await ensureTopologyImages(base, { runtime: home, log: (l) => progress.log(`images: ${l}`) });
    imageArgv = await imageArgvOf(home, base, experiment, built);
  } catch (err) {
    progress.close();
    throw err;
  }
  let sweepDir: string;
  if (outDir !== undefined) {
    sweepDir = outDir;
    await mkdir(sweepDir, { recursive: true });
  } else {
    sweepDir = await claimDefaultSweepDir(defaultSweepDir(experiment, startedAt));
  }
  if (experiment.file.endsWith('.yaml') || experiment.file.endsWith('.yml')) {
    await copyFile(experiment.file, path.join(sweepDir, SWEEP_FILES.experiment)).catch(() => {});
  }
  // every node's readiness wait listens on the one abort signal
  if (options.signal) setMaxListeners(200, options.signal);
  const ctx: SweepContext = {
    experiment,
    base,
    sweepDir,
    sweepId: randomBytes(3).toString('hex'),
    progress,
    signal: options.signal,
    runtime,
    home,
    images: options.images ?? (await ensureImages({ runtime: home, log: (l) => progress.log(`images: ${l}`) })),
    built,
    imageArgv,
    versions: await versions(home),
    host: hostFacts(),
    gitCommit: await gitCommit(),
    player: options.player ?? ((lab, seed) => networkPlayer(lab, { seed })),
    startLock: Promise.resolve(),
    maxNodes: options.maxNodes ?? DEFAULT_MAX_NODES,
  };
  return { ctx, planned, parallel };
}

/**
 * The ENTRYPOINT and CMD of every image a gated node runs of its own, read from the engine once per
 * sweep (the start gate wraps the argv the image would have run). Also checks runTopology accepts the
 * experiment's workload, so a mistake stops the sweep before any run.
 */
async function imageArgvOf(runtime: Runtime, base: Topology, experiment: Experiment, built: BuiltImages): Promise<Map<string, ImageArgv>> {
  const argv = new Map<string, ImageArgv>();
  for (const node of nodesNeedingImageArgv(base, experiment)) {
    const ref = node.image.type === 'local' ? node.image.ref : node.image.type === 'build' ? built.get(buildKey(node.image))?.tag : undefined;
    const info = ref === undefined ? undefined : await runtime.images.inspect(ref);
    if (!info) {
      throw new AcklabError(`node "${node.name}": image "${ref ?? node.kind}" is not on this Docker engine; build or load it first, or say build: DIR (acklab pulls nothing)`, 2);
    }
    argv.set(node.name, { ...(info.entrypoint ? { entrypoint: info.entrypoint } : {}), ...(info.cmd ? { cmd: info.cmd } : {}) });
  }
  runTopology(base, experiment, 'check', argv);
  return argv;
}

/** Everything one run accumulates while its phases run. */
class RunRecord {
  readonly problems: string[] = [];
  readonly snapshots: ConditionSnapshot[] = [];
  status: RunStatus = 'ok';
  lab: StartedLab | undefined;
  net: NetworkPlayer | undefined;
  log: TimelineLog | undefined;
  /** Process faults due, and the ones running (so collection waits for them). */
  readonly faults: Promise<void>[] = [];
  readonly timers: NodeJS.Timeout[] = [];
  /** Read-backs of the conditions taken as timeline steps settle (collection waits for them). */
  readonly reads: Promise<void>[] = [];

  constructor(
    readonly dir: string,
    readonly labName: string,
    readonly topology: Topology,
    readonly manifest: RunManifest,
    readonly outputs: Map<string, NodeOutputs>,
    readonly gated: string[],
  ) {}

  async snapshot(label: string, atMs: number): Promise<void> {
    if (!this.net) return;
    try {
      this.snapshots.push({ label, atMs, state: await this.net.read() });
    } catch (err) {
      this.snapshots.push({ label, atMs, state: null, error: errorMessage(err) });
    }
  }
}

async function runOne(ctx: SweepContext, run: PlannedRun): Promise<{ sweepRun: SweepRun; loaded: LoadedRun | null }> {
  const began = Date.now();
  const record = await planRun(ctx, run, began);
  ctx.progress.runStarted(run);
  try {
    await startPhase(ctx, run, record);
    await playPhase(ctx, run, record);
  } catch (err) {
    record.status = ctx.signal?.aborted ? 'interrupted' : 'failed';
    record.manifest.error = ctx.signal?.aborted ? 'interrupted (Ctrl-C)' : errorMessage(err);
  } finally {
    await collectPhase(ctx, run, record);
    await teardownPhase(ctx, run, record);
    await writeRunFiles(record);
  }
  const loaded = await loadRun(record.dir).catch((err: unknown) => {
    record.problems.push(`metrics: ${errorMessage(err)}`);
    return null;
  });
  if (loaded) await writeJson(path.join(record.dir, RUN_FILES.metrics), loaded.metrics);
  const metrics = loaded?.metrics ?? null;
  ctx.progress.runFinished(run, metrics?.crashed ? `${record.status}, workload crashed` : record.status, Date.now() - began);
  const sweepRun = loaded ? sweepRunOf(loaded, ctx.sweepDir) : { dir: run.dir, condition: run.condition.name, repetition: run.repetition, status: record.status, metrics };
  return { sweepRun, loaded };
}

/** The run's own lab name, topology, seed and manifest. */
async function planRun(ctx: SweepContext, run: PlannedRun, began: number): Promise<RunRecord> {
  const { experiment } = ctx;
  const dir = path.join(ctx.sweepDir, run.dir);
  // --force into an earlier sweep: this run's folder holds only this run's files.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const labName = runLabName(experiment.name, ctx.sweepId, run.index);
  const { topology, outputs, gated } = runTopology(ctx.base, experiment, labName, ctx.imageArgv);
  const manifest: RunManifest = {
    formatVersion: RUN_FORMAT_VERSION,
    kind: 'acklab-run',
    runId: `${ctx.sweepId}-${run.index + 1}`,
    experiment,
    condition: run.condition,
    repetition: run.repetition,
    seed: deriveSeed(experiment.seed, run.condition.name, run.repetition),
    topology,
    backend: null,
    images: { ...ctx.images, ...Object.fromEntries([...ctx.built.values()].map((b) => [`build-${b.name}`, b.tag])) },
    versions: ctx.versions,
    host: ctx.host,
    gitCommit: ctx.gitCommit,
    status: 'ok',
    startedAt: new Date(began).toISOString(),
    endedAt: '',
    t0: null,
    nodes: [],
    timeline: [],
  };
  manifest.timeline = playedSteps(run.condition, ctx.base.nodes.map((n) => n.name), manifest.seed, experiment.durationMs).map((step) => ({
    atMs: step.atMs,
    startedAtMs: null,
    appliedAtMs: null,
    text: step.text,
    step,
    ok: false,
  }));
  return new RunRecord(dir, labName, topology, manifest, outputs, gated);
}

/** The lab up, its sidecars ready when a timeline will need them, and the condition in force. */
async function startPhase(ctx: SweepContext, run: PlannedRun, r: RunRecord): Promise<void> {
  const phase = (line: string) => ctx.progress.runPhase(run, line);
  phase('starting lab');
  r.lab = await startLab(ctx, r.topology, r.manifest.runId, phase);
  if (r.lab.overlay) r.manifest.overlay = { paths: r.lab.overlay.paths.length, settledMs: r.lab.overlay.ms };
  r.net = ctx.player(r.lab, r.manifest.seed);
  if (r.manifest.timeline.length > 0) {
    phase('preparing sidecars for the timeline');
    await r.net.prepare();
  }
  for (const action of run.condition.actions) {
    phase(describeAction(action));
    await r.net.apply(action);
  }
  if (run.condition.actions.length > 0 || r.lab.links.length > 0) await r.snapshot('start', 0);
}

/**
 * The timeline's network steps are staged on every agent; then t0 is chosen, the agents arm their
 * steps, the workload starts at t0, process faults run at their time, and the end is awaited.
 */
async function playPhase(ctx: SweepContext, run: PlannedRun, r: RunRecord): Promise<void> {
  const lab = r.lab!;
  const net = r.net!;
  const names = lab.nodes.map((n) => n.name);
  const steps = labSteps(r.manifest.timeline, names);
  // Once a step is in force everywhere, what the kernel holds is read back into conditions.json.
  r.log = new TimelineLog(r.manifest.timeline, steps, () => r.manifest.t0, (record) => {
    if (r.manifest.t0 === null) return;
    if (record.step.action.kind !== 'process') {
      const at = record.appliedAtMs === null ? 'failed' : `in force at +${(record.appliedAtMs / 1000).toFixed(3)}s, spread ${record.spreadMs ?? 0} ms`;
      ctx.progress.runPhase(run, `${record.text} (${at})`);
    }
    r.reads.push(r.snapshot(record.text, Date.now() - r.manifest.t0));
  });
  const log = r.log;
  if (steps.length > 0) {
    ctx.progress.runPhase(run, `staging ${steps.length} timeline step(s) on every node`);
    await net.schedule(steps);
  }
  // Every agent of the lab (links, the condition, the timeline) is watched for the whole run.
  await net.watch((e) => log.on(e));
  const t0 = Date.now() + START_LEAD_MS;
  r.manifest.t0 = t0;
  if (steps.length > 0) await net.start(t0);
  // One node's process faults run one after the other (a restart waits for the start before it to
  // have handed the node's conditions over); different nodes' run at once.
  const perNode = new Map<string, Promise<void>>();
  r.manifest.timeline.forEach((record, index) => {
    const action = record.step.action;
    if (action.kind !== 'process') return;
    let settle!: () => void;
    r.faults.push(new Promise<void>((resolve) => (settle = resolve)));
    r.timers.push(
      setTimeout(() => {
        const previous = perNode.get(action.node) ?? Promise.resolve();
        const mine = previous.then(async () => {
          // timers keep the monotonic clock and may fire a millisecond before the wall clock's due time
          while (Date.now() < t0 + record.atMs) await new Promise((resolve) => setTimeout(resolve, 1));
          const done = await runProcessFault(ctx.runtime.containers, lab, action, (node, ref) => net.nodeRestarted(node, ref), (d) => {
            log.processDone(index, action.node, d.firedAtMs, d.doneAtMs, d.error);
            if (d.error) r.problems.push(`timeline step "${record.text}" failed: ${d.error}`);
            ctx.progress.runPhase(run, record.text);
          });
          if (done.handoverError) r.problems.push(`timeline step "${record.text}": the node's conditions were not handed over: ${done.handoverError}`);
        });
        perNode.set(action.node, mine);
        void mine.finally(settle);
      }, Math.max(0, t0 + record.atMs - Date.now())),
    );
  });
  await abortable(t0 - Date.now(), ctx.signal);
  await openGate(lab, r.gated);
  ctx.progress.runPhase(run, `running (${ctx.experiment.durationMs / 1000}s)`);
  // Not before the last step: a crash-recovery timeline starts nodes again after the others stopped.
  const lastStep = Math.max(0, ...r.manifest.timeline.map((t) => t.atMs));
  await waitForEnd(lab, t0 + ctx.experiment.durationMs, ctx.signal, t0 + lastStep);
}

/** Clients and mesh stopped first, so servers still answer while they drain; then every node's output copied out. */
async function collectPhase(ctx: SweepContext, run: PlannedRun, r: RunRecord): Promise<void> {
  const lab = r.lab;
  if (!lab) return;
  ctx.progress.runPhase(run, 'collecting');
  const containers = ctx.runtime.containers;
  for (const t of r.timers) clearTimeout(t);
  await Promise.race([Promise.all(r.faults), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS))]);
  await Promise.race([Promise.all(r.reads), new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS))]);
  r.log?.stopWatching();
  r.log?.finish(Date.now());
  try {
    // a frozen node cannot be stopped: thaw it first
    await Promise.all(lab.nodes.map(async (n) => ((await containers.inspect(n.containerId).catch(() => undefined))?.paused ? containers.unpause(n.containerId) : undefined)));
    const servers = lab.nodes.filter((n) => n.spec.role === 'server');
    await stopContainers(containers, lab.nodes.filter((n) => !servers.includes(n)).map((n) => n.containerId), STOP_GRACE_MS);
    await stopContainers(containers, servers.map((n) => n.containerId), STOP_GRACE_MS);
    const startedAgain = new Set(
      r.manifest.timeline.flatMap((t) => (t.ok && t.step.action.kind === 'process' && (t.step.action.verb === 'start' || t.step.action.verb === 'restart') ? [t.step.action.node] : [])),
    );
    for (const node of lab.nodes) {
      r.manifest.nodes.push(
        await collectNode(
          containers,
          r.dir,
          {
            name: node.name,
            kind: node.kind,
            containerId: node.containerId,
            addresses: node.addresses,
            command: node.spec.command,
            env: node.spec.env,
            ...(node.engine === undefined ? {} : { engine: node.engine }),
            outputs: r.outputs.get(node.name)!,
            startedAgain: startedAgain.has(node.name),
          },
          r.problems,
        ),
      );
    }
    // the player knows when it applied something; topology links were applied by the lab's start step
    const readBack = r.snapshots.map((x) => (x.state as { backend?: { backend?: string } } | null)?.backend?.backend).find(Boolean);
    r.manifest.backend = (await r.net?.backend().catch(() => null)) ?? readBack ?? null;
    r.net?.close();
  } catch (err) {
    r.problems.push(`collecting failed: ${errorMessage(err)}`);
  }
}

/** By lab name (unique to this run): the lab's containers, networks and sidecars, even if its start failed halfway. */
async function teardownPhase(ctx: SweepContext, run: PlannedRun, r: RunRecord): Promise<void> {
  ctx.progress.runPhase(run, 'taking the lab down');
  await (r.lab?.stop() ?? Promise.resolve())
    .then(() => removeByLabels(ctx.runtime, labSelector(r.labName)))
    .catch((err: unknown) => r.problems.push(`taking the lab down failed: ${errorMessage(err)}`));
}

async function writeRunFiles(r: RunRecord): Promise<void> {
  const losses = r.log?.losses ?? [];
  if (losses.length > 0) {
    r.manifest.invalid = losses;
    // A run that lost a condition ran under other conditions than it says: never `ok`.
    if (r.status === 'ok') r.status = 'invalid';
  }
  r.manifest.status = r.status;
  r.manifest.endedAt = new Date().toISOString();
  if (r.problems.length > 0) r.manifest.error = [r.manifest.error, ...r.problems].filter(Boolean).join('; ');
  await writeJson(path.join(r.dir, RUN_FILES.manifest), r.manifest);
  await writeFile(path.join(r.dir, RUN_FILES.conditions), `${JSON.stringify([...r.snapshots].sort((a, b) => a.atMs - b.atMs), null, 2)}\n`);
}

/**
 * Starts one run's lab under its own name (unique per sweep, so two sweeps of one experiment never
 * meet). Starts are serialised within a sweep: they are short next to a run, and a busy 2-core
 * machine gets each lab ready sooner one at a time. Subnet races with other processes are the
 * lab's to settle (Lab.start claims and reads back its subnets).
 */
async function startLab(ctx: SweepContext, topology: Topology, runId: string, onProgress: (line: string) => void): Promise<StartedLab> {
  const previous = ctx.startLock;
  let release!: () => void;
  ctx.startLock = new Promise<void>((r) => (release = r));
  await previous;
  try {
    return await Lab.fromTopology(topology).start({
      runtime: ctx.home,
      images: ctx.images,
      built: ctx.built,
      runId,
      maxNodes: ctx.maxNodes,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onProgress,
    });
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

/** Until the end of the run, or earlier (not before `notBefore`) once every client and mesh node has exited on its own. */
async function waitForEnd(lab: StartedLab, endAt: number, signal: AbortSignal | undefined, notBefore: number): Promise<void> {
  const finite = lab.nodes.filter((n) => n.spec.role === 'client' || n.spec.role === 'mesh');
  while (Date.now() < endAt) {
    await abortable(Math.min(500, endAt - Date.now()), signal);
    if (finite.length === 0 || Date.now() < notBefore) continue;
    const states = await Promise.all(finite.map((n) => lab.state(n.name).catch(() => ({ running: false }))));
    if (states.every((s) => !s.running)) return;
  }
}
