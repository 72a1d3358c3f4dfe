/**
 * The data behind report.html, prepared from run folders (format: src/experiment/run-format.ts)
 * with engineer E's readers, so every number is the one of the terminal table and report.md.
 * Nothing here draws; charts.ts and space-time.ts turn it into pictures. A piece that is missing
 * (no manifest, crashed program, no mcast part, no t0) becomes a sentence in `missing`, never a zero.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError } from '../common/index.js';
import { flagValue, programRole, type CollectedNode, type ProgramRole } from '../experiment/metrics.js';
import { computeRunMetrics, isRunDir, isSweepDir, listRunDirs, readCollectedNodes, readManifest, readSweepRuns } from '../experiment/run-folder.js';
import {
  RUN_FILES,
  SWEEP_FILES,
  type ComparisonTable,
  type ConditionSnapshot,
  type RunManifest,
  type RunMetrics,
  type SweepRun,
  type SweepSummary,
} from '../experiment/run-format.js';
import { comparisonTable, tableCells } from './table.js';
import { spaceTimeModel, type SpaceTimeModel } from './space-time.js';

export interface LogLink {
  label: string;
  /** Relative to the report's folder. */
  href: string;
  exists: boolean;
}

export interface NodeLogs {
  node: string;
  kind: string;
  role: ProgramRole;
  exitCode: number | null;
  links: LogLink[];
}

export interface TimelineMark {
  /** Offset from t0 where the step took effect (in-force time, else planned). */
  atMs: number;
  /** Offset from t0 the step was due at. */
  plannedMs: number;
  text: string;
  kind: 'partition' | 'heal' | 'impair';
  applied: boolean;
  error?: string;
}

export interface AckPoint {
  series: 'peer acks' | 'mcast acks';
  /** Offset from t0. */
  tMs: number;
  /** Acks received so far in this series. */
  cumulative: number;
}

export interface RunReport {
  /** Folder name, relative to the report's folder ('.' for a single-run report). */
  dir: string;
  label: string;
  condition: string;
  repetition: number;
  status: string;
  manifest: RunManifest | null;
  metrics: RunMetrics | null;
  /** True when the run counts in the table's numbers (ok and nothing crashed). */
  usable: boolean;
  t0: number | null;
  t0Source: 'manifest' | 'first event' | null;
  marks: TimelineMark[];
  partitions: PartitionInterval[];
  acksOverTime: AckPoint[];
  /** Every ack round trip of the run's peer clients (ms). */
  rtts: number[];
  /** mcast delivery latency per delivered message (ms), by the delivering node. */
  deliveryLatencies: { node: string; latencyMs: number }[];
  spaceTime: SpaceTimeModel | null;
  conditions: ConditionSnapshot[] | null;
  logs: NodeLogs[];
  /** Sentences saying what is missing from this run and why a chart or diagram is absent. */
  missing: string[];
}

export interface ReportData {
  kind: 'sweep' | 'run';
  title: string;
  /** The folder the report is written to. */
  dir: string;
  summary: SweepSummary | null;
  table: ComparisonTable;
  tableCells: { head: string[]; rows: string[][] };
  runs: RunReport[];
  /** Problems that concern the whole folder (e.g. a run folder that cannot be read). */
  problems: string[];
}

async function readJsonIfExists<T>(file: string): Promise<{ value?: T; error?: string }> {
  if (!existsSync(file)) return {};
  try {
    return { value: JSON.parse(await readFile(file, 'utf8')) as T };
  } catch (err) {
    return { error: `${path.basename(file)} cannot be read: ${(err as Error).message}` };
  }
}

function markKind(record: RunManifest['timeline'][number]): TimelineMark['kind'] {
  const kind = record.step?.action?.kind;
  if (kind === 'partition' || kind === 'heal') return kind;
  if (kind === 'impair') return 'impair';
  return /^\s*partition/.test(record.text) ? 'partition' : /^\s*heal/.test(record.text) ? 'heal' : 'impair';
}

/** The timeline as played: one mark per step (applied time when known). */
export function timelineMarks(manifest: RunManifest): TimelineMark[] {
  return (manifest.timeline ?? []).map((r) => ({
    atMs: r.appliedAtMs ?? r.atMs,
    plannedMs: r.atMs,
    text: r.text,
    kind: markKind(r),
    applied: r.ok && r.appliedAtMs !== null,
    ...(r.error ? { error: r.error } : {}),
  }));
}

function nodesOfPartition(record: RunManifest['timeline'][number]): string[] {
  const action = record.step?.action;
  if (action?.kind !== 'partition') return [];
  return action.partition.kind === 'groups' ? action.partition.groups.flat() : [action.partition.from, action.partition.to];
}

/**
 * A partition as played (offsets from t0). A step is recorded twice: when it was due (`atMs`) and
 * when it was in force (`appliedAtMs`); in between the kernel rules were being changed.
 */
export interface PartitionInterval {
  text: string;
  plannedMs: number;
  inForceMs: number;
  /** The heal that ended it: due / in force; null when nothing healed it within the run. */
  healPlannedMs: number | null;
  healedMs: number | null;
}

/** A shaded band: `changing` while the rules were being put in or taken out, else in force. */
export interface PartitionBand {
  fromMs: number;
  /** null: to the end of the run. */
  toMs: number | null;
  text: string;
  changing: boolean;
}

export function partitionBands(p: PartitionInterval): PartitionBand[] {
  const bands: PartitionBand[] = [];
  if (p.inForceMs > p.plannedMs) bands.push({ fromMs: p.plannedMs, toMs: p.inForceMs, text: `${p.text} (being applied)`, changing: true });
  const end = p.healPlannedMs === null ? null : Math.max(p.healPlannedMs, p.inForceMs);
  bands.push({ fromMs: p.inForceMs, toMs: end, text: p.text, changing: false });
  if (end !== null && p.healedMs !== null && p.healedMs > end) bands.push({ fromMs: end, toMs: p.healedMs, text: `${p.text} (being healed)`, changing: true });
  return bands;
}

/**
 * Partitions of a run: from an applied `partition` to the first later `heal` of all nodes or of
 * a node it involves; open (heal null) when nothing healed it.
 */
export function partitionSpans(manifest: RunManifest): PartitionInterval[] {
  const steps = manifest.timeline ?? [];
  const spans: PartitionInterval[] = [];
  steps.forEach((r, i) => {
    if (markKind(r) !== 'partition' || !r.ok) return;
    const nodes = nodesOfPartition(r);
    const heal = steps.slice(i + 1).find((h) => {
      if (markKind(h) !== 'heal' || !h.ok) return false;
      const node = h.step?.action?.kind === 'heal' ? h.step.action.node : undefined;
      return node === undefined || nodes.length === 0 || nodes.includes(node);
    });
    spans.push({
      text: r.text,
      plannedMs: r.atMs,
      inForceMs: r.appliedAtMs ?? r.atMs,
      healPlannedMs: heal ? heal.atMs : null,
      healedMs: heal ? (heal.appliedAtMs ?? heal.atMs) : null,
    });
  });
  return spans;
}

/** Cumulative ack counts over time: peer clients' `ack_received`, mcast nodes' `mcast_ack`. */
export function acksOverTime(nodes: CollectedNode[], t0: number): AckPoint[] {
  const points: AckPoint[] = [];
  const series = (name: AckPoint['series'], times: number[]) => {
    times.sort((a, b) => a - b).forEach((ts, i) => points.push({ series: name, tMs: ts - t0, cumulative: i + 1 }));
  };
  series('peer acks', nodes.filter((n) => programRole(n.command) === 'peer-client').flatMap((n) => n.events.filter((e) => e.event === 'ack_received').map((e) => e.ts)));
  series('mcast acks', nodes.filter((n) => programRole(n.command) === 'mcast').flatMap((n) => n.events.filter((e) => e.event === 'mcast_ack').map((e) => e.ts)));
  return points;
}

/** Delivery latency per delivered message, computed exactly as E's mcast metrics do (delivered file, else events). */
export function deliveryLatencies(nodes: CollectedNode[]): { node: string; latencyMs: number }[] {
  const mcast = nodes.filter((n) => programRole(n.command) === 'mcast');
  const sentAt = new Map<string, number>();
  for (const n of mcast) {
    const id = Number(flagValue(n.command, '--id'));
    if (!Number.isInteger(id)) continue;
    for (const e of n.events) if (e.event === 'mcast_sent') sentAt.set(`${id}:${e.seq}`, e.ts);
  }
  const out: { node: string; latencyMs: number }[] = [];
  for (const n of mcast) {
    const delivered = n.delivered ?? n.events.flatMap((e) => (e.event === 'delivered' ? [{ sender: e.sender, seq: e.seq, deliveredAt: e.ts }] : []));
    for (const d of delivered) {
      const t = sentAt.get(`${d.sender}:${d.seq}`);
      if (t !== undefined) out.push({ node: n.name, latencyMs: d.deliveredAt - t });
    }
  }
  return out;
}

function relHref(reportDir: string, runDir: string, file: string): string {
  return path.relative(reportDir, path.join(runDir, file)).split(path.sep).map(encodeURIComponent).join('/');
}

/** Everything the report shows about one run folder; never throws for a broken run. */
export async function loadRunReport(reportDir: string, runDir: string, sweepRun?: SweepRun): Promise<RunReport> {
  const dir = path.relative(reportDir, runDir) || '.';
  const missing: string[] = [];
  let manifest: RunManifest | null = null;
  try {
    manifest = await readManifest(runDir);
  } catch (err) {
    missing.push(`manifest.json: ${(err as Error).message} — nothing else of this run can be shown`);
  }
  const base: RunReport = {
    dir,
    label: path.basename(runDir),
    condition: manifest?.condition.name ?? sweepRun?.condition ?? '?',
    repetition: manifest?.repetition ?? sweepRun?.repetition ?? 0,
    status: manifest?.status ?? sweepRun?.status ?? 'unknown',
    manifest,
    metrics: sweepRun?.metrics ?? null,
    usable: false,
    t0: null,
    t0Source: null,
    marks: [],
    partitions: [],
    acksOverTime: [],
    rtts: [],
    deliveryLatencies: [],
    spaceTime: null,
    conditions: null,
    logs: [],
    missing,
  };
  if (!manifest) return base;
  if (manifest.status !== 'ok') missing.push(`the run ${manifest.status}${manifest.error ? `: ${manifest.error}` : ''}`);
  const { nodes, problems } = await readCollectedNodes(runDir, manifest);
  missing.push(...problems);
  if (!base.metrics) base.metrics = await computeRunMetrics(runDir);
  const metrics = base.metrics;
  base.usable = manifest.status === 'ok' && !metrics.crashed;
  for (const p of metrics.problems) if (!missing.includes(p)) missing.push(p);
  if (!base.usable && metrics.crashed) missing.push('this run is left out of the comparison table and the per-condition charts (a workload program crashed)');
  else if (!base.usable) missing.push('this run is left out of the comparison table and the per-condition charts (the run did not finish ok)');

  for (const record of manifest.nodes) {
    const links: LogLink[] = [record.files.stdout, record.files.stderr, record.files.events, ...record.files.extra].map((f) => ({
      label: path.basename(f),
      href: relHref(reportDir, runDir, f),
      exists: existsSync(path.join(runDir, f)),
    }));
    for (const l of links) if (!l.exists) missing.push(`${record.name}: ${l.label} was not collected`);
    base.logs.push({ node: record.name, kind: record.kind, role: programRole(record.command), exitCode: record.exitCode, links });
  }
  for (const n of nodes) if (n.events.length === 0) missing.push(`${n.name}: no events (events.ndjson missing or empty)`);

  const firstEvent = Math.min(...nodes.flatMap((n) => n.events.map((e) => e.ts)));
  if (manifest.t0 !== null) {
    base.t0 = manifest.t0;
    base.t0Source = 'manifest';
  } else if (Number.isFinite(firstEvent)) {
    base.t0 = firstEvent;
    base.t0Source = 'first event';
    missing.push('manifest has no t0 (the workload may not have started): times are measured from the first event');
  } else {
    missing.push('no t0 and no events: no time-based chart or diagram');
  }
  base.marks = timelineMarks(manifest);
  base.partitions = partitionSpans(manifest);
  base.rtts = nodes.filter((n) => programRole(n.command) === 'peer-client').flatMap((n) => n.events.flatMap((e) => (e.event === 'ack_received' ? [e.rttMs] : [])));
  base.deliveryLatencies = deliveryLatencies(nodes);
  if (base.t0 !== null) base.acksOverTime = acksOverTime(nodes, base.t0);
  if (!metrics.peer) missing.push('no peer client in this run: no ack count, no ack round trips');
  const mcastNodes = nodes.filter((n) => programRole(n.command) === 'mcast');
  if (mcastNodes.length === 0) {
    missing.push('no mcast part in this run: no space-time diagram, no delivery latency');
  } else {
    base.spaceTime = spaceTimeModel(
      mcastNodes.map((n) => {
        const id = Number(flagValue(n.command, '--id'));
        return { name: n.name, id: Number.isInteger(id) ? id : null, events: n.events };
      }),
    );
    missing.push(...base.spaceTime.problems);
  }
  const conditions = await readJsonIfExists<ConditionSnapshot[]>(path.join(runDir, RUN_FILES.conditions));
  if (conditions.error) missing.push(conditions.error);
  else if (!conditions.value) missing.push('conditions.json was not written: the conditions in force were not read back');
  base.conditions = conditions.value ?? null;
  return base;
}

/** Reads a sweep folder (or any folder of run folders) or a single run folder. */
export async function loadReportData(dir: string): Promise<ReportData> {
  const abs = path.resolve(dir);
  if (!existsSync(abs)) throw new AcklabError(`${dir}: no such folder`, 2);
  const problems: string[] = [];
  if (isRunDir(abs)) {
    const run = await loadRunReport(abs, abs);
    const runs: SweepRun[] = run.metrics ? [{ dir: '.', condition: run.condition, repetition: run.repetition, status: run.manifest?.status ?? 'failed', metrics: run.metrics }] : [];
    const table = comparisonTable(runs);
    return {
      kind: 'run',
      title: `${run.manifest?.experiment.name ?? 'run'} — ${run.label}`,
      dir: abs,
      summary: null,
      table,
      tableCells: tableCells(table),
      runs: [run],
      problems,
    };
  }
  const runDirs = await listRunDirs(abs);
  if (runDirs.length === 0) {
    const entries = (await readdir(abs)).slice(0, 10);
    throw new AcklabError(
      `${dir} is neither a run folder (no ${RUN_FILES.manifest}) nor a sweep folder (no run folders inside${isSweepDir(abs) ? '' : `, no ${SWEEP_FILES.summaryJson}`}); it holds: ${entries.join(', ') || 'nothing'}`,
      2,
    );
  }
  const summaryFile = await readJsonIfExists<SweepSummary>(path.join(abs, SWEEP_FILES.summaryJson));
  if (summaryFile.error) problems.push(summaryFile.error);
  let sweepRuns: SweepRun[] = [];
  try {
    sweepRuns = await readSweepRuns(abs);
  } catch (err) {
    problems.push(`the runs could not all be read (${(err as Error).message}); the table shows the readable ones`);
    for (const d of runDirs) {
      try {
        const m = await readManifest(d);
        sweepRuns.push({ dir: path.basename(d), condition: m.condition.name, repetition: m.repetition, status: m.status, metrics: await computeRunMetrics(d) });
      } catch {
        // reported per run by loadRunReport
      }
    }
  }
  const runs: RunReport[] = [];
  const ordered = [...sweepRuns.map((r) => path.join(abs, r.dir)), ...runDirs.filter((d) => !sweepRuns.some((r) => path.join(abs, r.dir) === d))];
  for (const d of ordered) runs.push(await loadRunReport(abs, d, sweepRuns.find((r) => path.join(abs, r.dir) === d)));
  const table = comparisonTable(sweepRuns);
  const first = runs.find((r) => r.manifest)?.manifest;
  return {
    kind: 'sweep',
    title: summaryFile.value?.experiment ?? first?.experiment.name ?? path.basename(abs),
    dir: abs,
    summary: summaryFile.value ?? null,
    table,
    tableCells: tableCells(table),
    runs,
    problems,
  };
}
