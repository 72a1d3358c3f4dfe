/**
 * The data behind report.html, arranged from loaded runs (src/results: loadRun / loadSweep), so
 * every number is the one of the terminal table and report.md, computed once by src/results.
 * Nothing here reads events or draws; charts.ts and space-time.ts turn it into pictures. A piece
 * that is missing (crashed program, no mcast part, no t0) becomes a sentence in `missing`, never a zero.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  comparisonTable,
  isMcastMember,
  memberInfo,
  nodeProgram,
  usable,
  type ComparisonTable,
  type ConditionSnapshot,
  type LoadedRun,
  type NodeProgram,
  type RunManifest,
  type RunMetrics,
  type SweepRun,
  type SweepSummary,
} from '../results/index.js';
import { tableCells } from './table.js';
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
  role: NodeProgram;
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

/** Cumulative ack counts over time from the ack arrivals results computed (offsets from t0). */
export function acksOverTime(run: LoadedRun, t0: number): AckPoint[] {
  const counts = new Map<AckPoint['series'], number>();
  return run.series.acks.map((a) => {
    const n = (counts.get(a.series) ?? 0) + 1;
    counts.set(a.series, n);
    return { series: a.series, tMs: a.ts - t0, cumulative: n };
  });
}

function relHref(reportDir: string, runDir: string, file: string): string {
  return path.relative(reportDir, path.join(runDir, file)).split(path.sep).map(encodeURIComponent).join('/');
}

/** Everything the report shows about one run; never throws for a broken run. */
export function runReport(reportDir: string, run: LoadedRun): RunReport {
  const { manifest, metrics } = run;
  const missing: string[] = [];
  const base: RunReport = {
    dir: path.relative(reportDir, run.dir) || '.',
    label: path.basename(run.dir),
    condition: manifest.condition.name,
    repetition: manifest.repetition,
    status: manifest.status,
    manifest,
    metrics,
    usable: usable({ dir: '', condition: '', repetition: 0, status: manifest.status, metrics }),
    t0: null,
    t0Source: null,
    marks: [],
    partitions: [],
    acksOverTime: [],
    rtts: run.series.rtts.map((r) => r.rttMs),
    deliveryLatencies: run.series.deliveries.map((d) => ({ node: d.node, latencyMs: d.latencyMs })),
    spaceTime: null,
    conditions: run.conditions,
    logs: [],
    missing,
  };
  if (manifest.status !== 'ok') missing.push(`the run ${manifest.status}${manifest.error ? `: ${manifest.error}` : ''}`);
  for (const p of metrics.problems) if (!missing.includes(p)) missing.push(p);
  if (!base.usable && metrics.crashed) missing.push('this run is left out of the comparison table and the per-condition charts (a workload program crashed)');
  else if (!base.usable) missing.push('this run is left out of the comparison table and the per-condition charts (the run did not finish ok)');

  for (const record of manifest.nodes) {
    const links: LogLink[] = [record.files.stdout, record.files.stderr, record.files.events, ...record.files.extra].map((f) => ({
      label: path.basename(f),
      href: relHref(reportDir, run.dir, f),
      exists: existsSync(path.join(run.dir, f)),
    }));
    for (const l of links) if (!l.exists) missing.push(`${record.name}: ${l.label} was not collected`);
    base.logs.push({ node: record.name, kind: record.kind, role: nodeProgram(record), exitCode: record.exitCode, links });
  }
  for (const n of run.nodes) {
    if (n.events.length > 0) continue;
    const program = nodeProgram(n);
    // the seed's programs write no events by design (their counts come from stdout)
    if (program === 'twisted-client' || program === 'twisted-server') continue;
    missing.push(`${n.name}: no events (events.ndjson missing or empty)`);
  }

  const firstEvent = Math.min(...run.nodes.flatMap((n) => n.events.map((e) => e.ts)));
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
  if (base.t0 !== null) base.acksOverTime = acksOverTime(run, base.t0);
  if (!metrics.peer) missing.push('no peer client in this run: no ack count, no ack round trips');
  const mcastNodes = run.nodes.filter((n) => isMcastMember(nodeProgram(n)));
  if (mcastNodes.length === 0) {
    missing.push('no mcast part in this run: no space-time diagram, no delivery latency');
  } else {
    base.spaceTime = spaceTimeModel(mcastNodes.map((n) => ({ name: n.name, id: memberInfo(n).id, events: n.events })));
    missing.push(...base.spaceTime.problems);
  }
  if (run.conditionsError) missing.push(run.conditionsError);
  else if (!run.conditions) missing.push('conditions.json was not written: the conditions in force were not read back');
  return base;
}

/** What a report is made from: a sweep (its summary and runs), or one run. */
export type ReportInput =
  | { kind: 'sweep'; dir: string; summary: SweepSummary; runs: LoadedRun[]; problems?: string[] }
  | { kind: 'run'; dir: string; run: LoadedRun };

export function reportData(input: ReportInput): ReportData {
  if (input.kind === 'run') {
    const run = runReport(input.dir, input.run);
    const runs: SweepRun[] = [{ dir: '.', condition: run.condition, repetition: run.repetition, status: input.run.manifest.status, metrics: input.run.metrics }];
    const table = comparisonTable(runs);
    return { kind: 'run', title: `${input.run.manifest.experiment.name} — ${run.label}`, dir: input.dir, summary: null, table, tableCells: tableCells(table), runs: [run], problems: [] };
  }
  return {
    kind: 'sweep',
    title: input.summary.experiment,
    dir: input.dir,
    summary: input.summary,
    table: input.summary.table,
    tableCells: tableCells(input.summary.table),
    runs: input.runs.map((r) => runReport(input.dir, r)),
    problems: input.problems ?? [],
  };
}
