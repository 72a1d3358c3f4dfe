/**
 * Reading and writing run folders (layout in run-format.ts): metrics are always recomputed from
 * what the programs wrote, so `acklab report` on an old folder gives the same numbers as `run`.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError } from '../common/index.js';
import { parseDelivered, type DeliveredRecord } from '../programs/mcast/delivered.js';
import { parseEvents, programRole, runMetrics, type CollectedNode } from './metrics.js';
import {
  RUN_FILES,
  RUN_FORMAT_VERSION,
  SWEEP_FILES,
  type RunManifest,
  type RunMetrics,
  type SweepRun,
  type SweepSummary,
} from './run-format.js';

export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`);
}

async function readJson<T>(file: string): Promise<T> {
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

/** The collected output of every node of a run, as the metrics need it. */
export async function readCollectedNodes(runDir: string, manifest: RunManifest): Promise<{ nodes: CollectedNode[]; problems: string[] }> {
  const problems: string[] = [];
  const nodes: CollectedNode[] = [];
  for (const record of manifest.nodes) {
    const eventsText = (await readIfExists(path.join(runDir, record.files.events))) ?? '';
    const { events, badLines } = parseEvents(eventsText);
    if (badLines > 0) problems.push(`${record.files.events}: ${badLines} line(s) are not events`);
    const node: CollectedNode = { name: record.name, command: record.command, exitCode: record.exitCode, events };
    if (programRole(record.command) === 'mcast') {
      const file = record.files.extra.find((f) => /delivered/.test(path.basename(f)));
      const text = file ? await readIfExists(path.join(runDir, file)) : undefined;
      if (text !== undefined) {
        try {
          node.delivered = parseDelivered(text, file) satisfies DeliveredRecord[];
        } catch (err) {
          problems.push((err as Error).message);
        }
      }
    }
    nodes.push(node);
  }
  return { nodes, problems };
}

/** Recomputes a run's metrics from its folder. */
export async function computeRunMetrics(runDir: string): Promise<RunMetrics> {
  const manifest = await readManifest(runDir);
  const { nodes, problems } = await readCollectedNodes(runDir, manifest);
  if (manifest.error) problems.unshift(manifest.error);
  return runMetrics({ condition: manifest.condition.name, repetition: manifest.repetition, status: manifest.status, nodes, problems });
}

/** Every run folder directly inside a sweep folder, in condition then repetition order of their manifests. */
export async function listRunDirs(sweepDir: string): Promise<string[]> {
  const entries = await readdir(sweepDir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && isRunDir(path.join(sweepDir, e.name)))
    .map((e) => path.join(sweepDir, e.name))
    .sort();
}

/** Reads (and recomputes) every run of a sweep. Runs keep the order of the summary when there is one. */
export async function readSweepRuns(sweepDir: string): Promise<SweepRun[]> {
  let dirs = await listRunDirs(sweepDir);
  const summaryFile = path.join(sweepDir, SWEEP_FILES.summaryJson);
  if (existsSync(summaryFile)) {
    const summary = await readJson<SweepSummary>(summaryFile);
    const order = summary.runs.map((r) => path.join(sweepDir, r.dir));
    dirs = [...order.filter((d) => dirs.includes(d)), ...dirs.filter((d) => !order.includes(d))];
  }
  const runs: SweepRun[] = [];
  for (const dir of dirs) {
    const manifest = await readManifest(dir);
    runs.push({
      dir: path.basename(dir),
      condition: manifest.condition.name,
      repetition: manifest.repetition,
      status: manifest.status,
      metrics: await computeRunMetrics(dir),
    });
  }
  return runs;
}
