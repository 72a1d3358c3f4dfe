/**
 * Reading and writing run folders (layout in format.ts). A run is read by one function, loadRun:
 * the manifest, every node's events and files, and the metrics and series computed from them — so
 * `acklab run`, `acklab report` and report.html all show the same numbers from the same code.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError } from '../common/index.js';
import { parseDelivered } from '../programs/mcast/delivered.js';
import { parseEvents, runMetrics, runSeries, type CollectedNode } from './metrics.js';
import { isMcastMember, nodeProgram } from './roles.js';
import { runVerdict, type RunVerdict } from './verdict.js';
import {
  RUN_FILES,
  RUN_FORMAT_VERSION,
  SWEEP_FILES,
  type ConditionSnapshot,
  type RunManifest,
  type RunMetrics,
  type RunSeries,
  type SweepRun,
  type SweepSummary,
} from './format.js';

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readJson<T>(file: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AcklabError(`cannot read ${file}: ${(err as Error).message}`, 1, { cause: err });
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new AcklabError(`${file} is not valid JSON: ${(err as Error).message}`, 1, { cause: err });
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function isRunDir(dir: string): boolean {
  return existsSync(path.join(dir, RUN_FILES.manifest));
}

export function isSweepDir(dir: string): boolean {
  return existsSync(path.join(dir, SWEEP_FILES.summaryJson)) || existsSync(path.join(dir, SWEEP_FILES.experiment));
}

export async function readManifest(runDir: string): Promise<RunManifest> {
  const manifest = await readJson<RunManifest>(path.join(runDir, RUN_FILES.manifest));
  if (manifest.formatVersion !== RUN_FORMAT_VERSION) {
    throw new AcklabError(`${runDir}: run format version ${String(manifest.formatVersion)}; this acklab reads version ${RUN_FORMAT_VERSION}`);
  }
  return manifest;
}

/** Nodes whose last process fault in the played timeline ended them (kill, stop). */
function endedByTimeline(manifest: RunManifest): Set<string> {
  const last = new Map<string, string>();
  for (const t of manifest.timeline ?? []) {
    const a = t.step.action;
    if (t.ok && a.kind === 'process') last.set(a.node, a.verb);
  }
  return new Set([...last].filter(([, verb]) => verb === 'kill' || verb === 'stop').map(([node]) => node));
}

/** The collected output of every node of a run, as the metrics need it. */
export async function readCollectedNodes(runDir: string, manifest: RunManifest): Promise<{ nodes: CollectedNode[]; problems: string[] }> {
  const problems: string[] = [];
  const nodes: CollectedNode[] = [];
  const ended = endedByTimeline(manifest);
  for (const record of manifest.nodes) {
    const eventsText = (await readIfExists(path.join(runDir, record.files.events))) ?? '';
    const { events, badLines } = parseEvents(eventsText);
    if (badLines > 0) problems.push(`${record.files.events}: ${badLines} line(s) are not events`);
    const node: CollectedNode = { name: record.name, command: record.command, exitCode: record.exitCode, events, kind: record.kind, addresses: record.addresses };
    if (ended.has(record.name)) node.endedByTimeline = true;
    // a node the timeline started again: its earlier starts' events, oldest first
    const earlier = record.files.extra
      .map((f) => ({ f, m: /(?:^|[\\/])earlier[\\/](\d+)[\\/][^\\/]*events[^\\/]*\.ndjson$/.exec(f) }))
      .filter((x) => x.m)
      .sort((a, b) => Number(a.m![1]) - Number(b.m![1]));
    if (earlier.length > 0) {
      node.earlierEvents = [];
      for (const { f } of earlier) node.earlierEvents.push(...parseEvents((await readIfExists(path.join(runDir, f))) ?? '').events);
    }
    if (record.env) node.env = record.env;
    const program = nodeProgram(record);
    // the seed's programs write no events: what they did is in their stdout (src/results/seed.ts)
    if (program === 'twisted-client' || program === 'twisted-server') node.stdout = (await readIfExists(path.join(runDir, record.files.stdout))) ?? '';
    if (isMcastMember(program)) {
      const file = record.files.extra.find((f) => /delivered/.test(path.basename(f)) && !f.split(/[\\/]/).includes(RUN_FILES.earlierDir));
      const text = file ? await readIfExists(path.join(runDir, file)) : undefined;
      if (text !== undefined) {
        try {
          node.delivered = parseDelivered(text, file);
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
    }
    nodes.push(node);
  }
  return { nodes, problems };
}

/** One run, read once: what it recorded, what its programs wrote, and what is computed from that. */
export interface LoadedRun {
  /** The run folder (absolute). */
  dir: string;
  manifest: RunManifest;
  nodes: CollectedNode[];
  metrics: RunMetrics;
  series: RunSeries;
  verdict: RunVerdict;
  /** conditions.json; null when it was not written; `conditionsError` when it could not be read. */
  conditions: ConditionSnapshot[] | null;
  conditionsError?: string;
}

export async function loadRun(runDir: string): Promise<LoadedRun> {
  const dir = path.resolve(runDir);
  const manifest = await readManifest(dir);
  const { nodes, problems } = await readCollectedNodes(dir, manifest);
  if (manifest.error) problems.unshift(manifest.error);
  const metrics = runMetrics({ condition: manifest.condition.name, repetition: manifest.repetition, status: manifest.status, nodes, problems });
  const run: LoadedRun = { dir, manifest, nodes, metrics, series: runSeries(nodes), verdict: runVerdict(manifest, metrics), conditions: null };
  const conditions = await readIfExists(path.join(dir, RUN_FILES.conditions));
  if (conditions !== undefined) {
    try {
      run.conditions = JSON.parse(conditions) as ConditionSnapshot[];
    } catch (err) {
      run.conditionsError = `${RUN_FILES.conditions} cannot be read: ${(err as Error).message}`;
    }
  }
  return run;
}

/** Recomputes a run's metrics from its folder. */
export async function computeRunMetrics(runDir: string): Promise<RunMetrics> {
  return (await loadRun(runDir)).metrics;
}

export function sweepRunOf(run: LoadedRun, sweepDir: string): SweepRun {
  return {
    dir: path.relative(sweepDir, run.dir) || '.',
    condition: run.manifest.condition.name,
    repetition: run.manifest.repetition,
    status: run.manifest.status,
    metrics: run.metrics,
    verdict: run.verdict,
  };
}

/** Every run folder directly inside a sweep folder, sorted by name. */
export async function listRunDirs(sweepDir: string): Promise<string[]> {
  const entries = await readdir(sweepDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && isRunDir(path.join(sweepDir, e.name)))
    .map((e) => path.join(sweepDir, e.name))
    .sort();
}

export interface LoadedSweep {
  dir: string;
  /** summary.json when the sweep finished writing it. */
  summary: SweepSummary | null;
  runs: LoadedRun[];
  /** Run folders that could not be read, and summary.json when unreadable. */
  problems: string[];
}

/** Every run of a sweep, in the summary's order when there is one; unreadable runs become problems. */
export async function loadSweep(sweepDir: string): Promise<LoadedSweep> {
  const dir = path.resolve(sweepDir);
  const problems: string[] = [];
  let dirs = await listRunDirs(dir);
  let summary: SweepSummary | null = null;
  if (existsSync(path.join(dir, SWEEP_FILES.summaryJson))) {
    try {
      summary = await readJson<SweepSummary>(path.join(dir, SWEEP_FILES.summaryJson));
      const order = summary.runs.map((r) => path.join(dir, r.dir));
      dirs = [...order.filter((d) => dirs.includes(d)), ...dirs.filter((d) => !order.includes(d))];
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  const runs: LoadedRun[] = [];
  for (const d of dirs) {
    try {
      runs.push(await loadRun(d));
    } catch (err) {
      problems.push(`${path.basename(d)}: ${(err as Error).message}`);
    }
  }
  return { dir, summary, runs, problems };
}
