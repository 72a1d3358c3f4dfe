/**
 * The data behind report.html, arranged from loaded runs (src/results: loadRun / loadSweep), so
 * every number is the one of the terminal table and report.md, and every verdict the one `acklab
 * run` exits with — computed once by src/results. Nothing here reads event files or draws; charts.ts
 * and space-time-render.ts turn it into pictures. A piece that is missing (crashed program, no mcast
 * part, no t0) becomes a sentence in `missing`, never a zero.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  comparisonTable,
  conditionCdfs,
  flagValue,
  isMcastMember,
  memberInfo,
  nodeProgram,
  programRole,
  sweepRunOf,
  usable,
  worst,
  type ComparisonTable,
  type ConditionCdf,
  type ConditionSnapshot,
  type LoadedRun,
  type NodeProgram,
  type RunManifest,
  type RunMetrics,
  type RunVerdict,
  type SweepRun,
  type SweepSummary,
  type Verdict,
} from '../results/index.js';
import { faultBands, faultSpans, timelineMarks, type FaultBand, type FaultSpan, type TimelineMark } from './faults.js';
import { mcastDiagram, peerDiagram, type DiagramNodeInput, type SpaceTimeDiagram } from './space-time.js';
import { tableCells } from './table.js';

export type { FaultBand, FaultSpan, TimelineMark };

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

export interface AckPoint {
  series: 'peer acks' | 'mcast acks';
  /** Offset from t0. */
  tMs: number;
  /** Acks received so far in this series. */
  cumulative: number;
}

/** One item of the latency-over-time chart: when it was sent (offset from t0) and how long it took. */
export interface LatencyPoint {
  series: string;
  tMs: number;
  latencyMs: number;
  what: string;
}

/** An item that never completed (update never acked, message never delivered), by send time. */
export interface MissingPoint {
  series: 'never acked' | 'never delivered';
  tMs: number;
  what: string;
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
  /** The run's checks, as `acklab run` judged them. */
  verdict: RunVerdict | null;
  /** True when the run counts in the table's numbers (ok and nothing crashed). */
  usable: boolean;
  t0: number | null;
  t0Source: 'manifest' | 'first event' | null;
  /** Every timeline step as played, the faults they put in force, and the shaded bands of those. */
  marks: TimelineMark[];
  spans: FaultSpan[];
  bands: FaultBand[];
  acksOverTime: AckPoint[];
  latency: { points: LatencyPoint[]; missing: MissingPoint[] };
  /** Every ack round trip of the run's peer clients (ms). */
  rtts: number[];
  /** mcast delivery latency per delivered message (ms), by the delivering node. */
  deliveryLatencies: { node: string; latencyMs: number }[];
  /** Space-time diagrams: the mcast members, the peer client/server pairs. */
  diagrams: SpaceTimeDiagram[];
  conditions: ConditionSnapshot[] | null;
  logs: NodeLogs[];
  /** Sentences saying what is missing from this run and why a chart or diagram is absent. */
  missing: string[];
}

/** The verdict banner: what `acklab run` printed and exits with. */
export interface VerdictSummary {
  verdict: Verdict;
  /** The exit status `acklab run` gives this sweep: 0 pass, 1 fail or invalid, 130 interrupted. */
  exitCode: number;
  interrupted: boolean;
  /** Check names in the order they are judged. */
  checks: string[];
  runs: { label: string; anchor: string; verdict: Verdict; checks: RunVerdict['checks'] }[];
}

export interface ReportData {
  kind: 'sweep' | 'run';
  title: string;
  /** The folder the report is written to. */
  dir: string;
  summary: SweepSummary | null;
  table: ComparisonTable;
  tableCells: { head: string[]; rows: string[][] };
  verdict: VerdictSummary;
  /** Latency CDFs per condition (usable runs, pooled). */
  cdfs: ConditionCdf[];
  runs: RunReport[];
  /** Problems that concern the whole folder (e.g. a run folder that cannot be read). */
  problems: string[];
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

/** The latency-over-time chart's items: each update's RTT and each mcast delivery, by send time; and what never completed. */
export function latencyOverTime(run: LoadedRun, t0: number): RunReport['latency'] {
  const s = (ms: number) => `${((ms - t0) / 1000).toFixed(3)} s`;
  const points: LatencyPoint[] = [
    ...run.series.rtts.map((r) => ({ series: 'peer: update → ack', tMs: r.sentTs - t0, latencyMs: r.rttMs, what: `${r.node}: update ${r.seq} (conn ${r.conn}) sent at +${s(r.sentTs)}, acked after ${r.rttMs} ms` })),
    ...run.series.deliveries.map((d) => ({
      series: `mcast: delivered at ${d.node}`,
      tMs: d.sentTs - t0,
      latencyMs: d.latencyMs,
      what: `message ${d.sender}.${d.seq} sent at +${s(d.sentTs)}, delivered at ${d.node} after ${d.latencyMs} ms`,
    })),
  ];
  const missing: MissingPoint[] = [
    ...run.series.unacked.map((u) => ({ series: 'never acked' as const, tMs: u.sentTs - t0, what: `${u.node}: update ${u.seq} (conn ${u.conn}) sent at +${s(u.sentTs)}, never acked` })),
    ...run.series.undelivered.map((u) => ({ series: 'never delivered' as const, tMs: u.sentTs - t0, what: `message ${u.sender}.${u.seq} sent at +${s(u.sentTs)}, never delivered at ${u.node}` })),
  ];
  return { points, missing };
}

function relHref(reportDir: string, runDir: string, file: string): string {
  return path.relative(reportDir, path.join(runDir, file)).split(path.sep).map(encodeURIComponent).join('/');
}

export const runAnchor = (label: string) => `run-${label.replace(/[^A-Za-z0-9_-]/g, '_')}`;

/** The peer client's target host (`acklab-peer client HOST:PORT …`). */
function peerTarget(command: readonly string[]): string | undefined {
  const bin = command.findIndex((w) => /(^|\/)acklab-peer$/.test(w));
  const addr = bin >= 0 ? command[bin + 2] : undefined;
  if (!addr) return undefined;
  const m = /^\[?([^\]]*?)\]?:\d+$/.exec(addr);
  return m ? m[1] : addr;
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
    verdict: run.verdict,
    usable: usable({ dir: '', condition: '', repetition: 0, status: manifest.status, metrics }),
    t0: null,
    t0Source: null,
    marks: [],
    spans: [],
    bands: [],
    acksOverTime: [],
    latency: { points: [], missing: [] },
    rtts: run.series.rtts.map((r) => r.rttMs),
    deliveryLatencies: run.series.deliveries.map((d) => ({ node: d.node, latencyMs: d.latencyMs })),
    diagrams: [],
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
  base.spans = faultSpans(manifest);
  base.bands = base.spans.flatMap(faultBands);
  if (base.t0 !== null) {
    base.acksOverTime = acksOverTime(run, base.t0);
    base.latency = latencyOverTime(run, base.t0);
  }
  if (!metrics.peer) missing.push('no peer client in this run: no ack count, no ack round trips');

  const addresses = new Map(manifest.nodes.map((n) => [n.name, Object.values(n.addresses ?? {})]));
  const mcastNodes = run.nodes.filter((n) => isMcastMember(nodeProgram(n)));
  const peerNodes = run.nodes.filter((n) => programRole(n.command) === 'peer-client' || programRole(n.command) === 'peer-server');
  if (base.t0 !== null) {
    const ctx = { t0: base.t0, spans: base.spans, bands: base.bands, marks: base.marks.filter((m) => m.applied) };
    if (mcastNodes.length > 0) {
      const inputs: DiagramNodeInput[] = mcastNodes.map((n) => ({ name: n.name, id: memberInfo(n).id, events: n.events }));
      const d = mcastDiagram(inputs, ctx);
      base.diagrams.push(d);
      missing.push(...d.problems);
    }
    if (peerNodes.some((n) => programRole(n.command) === 'peer-client')) {
      const inputs: DiagramNodeInput[] = peerNodes.map((n) => {
        const role = programRole(n.command) as 'peer-client' | 'peer-server';
        const target = role === 'peer-client' ? peerTarget(n.command) : undefined;
        return { name: n.name, role, ...(target ? { target } : {}), addresses: addresses.get(n.name) ?? [], events: n.events };
      });
      const d = peerDiagram(inputs, ctx);
      base.diagrams.push(d);
      missing.push(...d.problems);
    }
  }
  if (mcastNodes.length === 0) missing.push('no mcast part in this run: no mcast space-time diagram, no delivery latency');
  if (run.conditionsError) missing.push(run.conditionsError);
  else if (!run.conditions) missing.push('conditions.json was not written: the conditions in force were not read back');
  return base;
}

/** What a report is made from: a sweep (its summary and runs), or one run. */
export type ReportInput =
  | { kind: 'sweep'; dir: string; summary: SweepSummary; runs: LoadedRun[]; problems?: string[] }
  | { kind: 'run'; dir: string; run: LoadedRun };

function verdictSummary(runs: { label: string; verdict: RunVerdict | null | undefined }[], interrupted: boolean, overall: Verdict): VerdictSummary {
  const checks: string[] = [];
  for (const r of runs) for (const c of r.verdict?.checks ?? []) if (!checks.includes(c.name)) checks.push(c.name);
  return {
    verdict: overall,
    exitCode: interrupted ? 130 : overall === 'pass' ? 0 : 1,
    interrupted,
    checks,
    runs: runs.map((r) => ({ label: r.label, anchor: runAnchor(r.label), verdict: r.verdict?.verdict ?? 'invalid', checks: r.verdict?.checks ?? [] })),
  };
}

export function reportData(input: ReportInput): ReportData {
  if (input.kind === 'run') {
    const run = runReport(input.dir, input.run);
    const sweepRun = sweepRunOf(input.run, path.dirname(input.dir));
    const runs: SweepRun[] = [{ ...sweepRun, dir: '.' }];
    const table = comparisonTable(runs);
    return {
      kind: 'run',
      title: `${input.run.manifest.experiment.name} — ${run.label}`,
      dir: input.dir,
      summary: null,
      table,
      tableCells: tableCells(table),
      verdict: verdictSummary([{ label: run.label, verdict: input.run.verdict }], false, input.run.verdict.verdict),
      cdfs: conditionCdfs([{ run: sweepRun, series: input.run.series }]),
      runs: [run],
      problems: [],
    };
  }
  const reports = input.runs.map((r) => runReport(input.dir, r));
  const byDir = new Map(input.runs.map((r) => [path.relative(input.dir, r.dir) || '.', r]));
  // the summary's runs are the verdict's: a run listed there but unreadable is invalid
  const verdictRuns = input.summary.runs.map((r) => ({ label: path.basename(r.dir), verdict: r.verdict ?? byDir.get(r.dir)?.verdict }));
  return {
    kind: 'sweep',
    title: input.summary.experiment,
    dir: input.dir,
    summary: input.summary,
    table: input.summary.table,
    tableCells: tableCells(input.summary.table),
    verdict: verdictSummary(verdictRuns, input.summary.interrupted, input.summary.verdict ?? worst(verdictRuns.map((r) => r.verdict?.verdict ?? 'invalid'))),
    cdfs: conditionCdfs(input.runs.map((r) => ({ run: sweepRunOf(r, input.dir), series: r.series }))),
    runs: reports,
    problems: input.problems ?? [],
  };
}
