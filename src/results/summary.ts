/** The sweep summary — every run's metrics and the comparison table, computed once — and its files summary.json and summary.csv. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { comparisonTable } from './comparison.js';
import { worst } from './verdict.js';
import { RUN_FORMAT_VERSION, SWEEP_FILES, type SweepRun, type SweepSummary } from './format.js';
import { writeJson } from './folder.js';

/** What the runner knows of a sweep besides its runs and table. */
export type SweepInfo = Pick<SweepSummary, 'experiment' | 'file' | 'seed' | 'repetitions' | 'startedAt' | 'endedAt' | 'interrupted'>;

export function buildSummary(info: SweepInfo, runs: SweepRun[]): SweepSummary {
  const verdict = worst(runs.map((r) => r.verdict?.verdict ?? 'invalid'));
  return { formatVersion: RUN_FORMAT_VERSION, kind: 'acklab-sweep', ...info, runs, table: comparisonTable(runs), verdict: info.interrupted ? worst([verdict, 'invalid']) : verdict };
}

const CSV_COLUMNS: [string, (r: SweepRun) => unknown][] = [
  ['run', (r) => r.dir],
  ['condition', (r) => r.condition],
  ['repetition', (r) => r.repetition],
  ['status', (r) => r.status],
  ['verdict', (r) => r.verdict?.verdict],
  ['crashed', (r) => r.metrics?.crashed],
  ['peer_updates_sent', (r) => r.metrics?.peer?.updatesSent],
  ['peer_acks_received', (r) => r.metrics?.peer?.acksReceived],
  ['peer_ack_ratio', (r) => r.metrics?.peer?.ackRatio],
  ['peer_rtt_p50_ms', (r) => r.metrics?.peer?.ackRttMs.p50],
  ['peer_rtt_p95_ms', (r) => r.metrics?.peer?.ackRttMs.p95],
  ['peer_rtt_p99_ms', (r) => r.metrics?.peer?.ackRttMs.p99],
  ['peer_connections_lost', (r) => r.metrics?.peer?.connectionsLost],
  ['mcast_sent', (r) => r.metrics?.mcast?.sent],
  ['mcast_delivered', (r) => r.metrics?.mcast?.delivered],
  ['mcast_undelivered', (r) => r.metrics?.mcast?.undelivered],
  ['mcast_acks_received', (r) => r.metrics?.mcast?.acksReceived],
  ['mcast_delivery_p50_ms', (r) => r.metrics?.mcast?.deliveryLatencyMs.p50],
  ['mcast_delivery_p99_ms', (r) => r.metrics?.mcast?.deliveryLatencyMs.p99],
  ['mcast_order', (r) => (r.metrics?.mcast ? (r.metrics.mcast.order.ok ? (r.metrics.mcast.order.complete ? 'pass' : 'pass-prefix') : 'fail') : undefined)],
  ['problems', (r) => r.metrics?.problems.join('; ')],
];

function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One row per run (RFC 4180 quoting). */
export function summaryCsv(runs: SweepRun[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name).join(',')];
  for (const run of runs) lines.push(CSV_COLUMNS.map(([, get]) => csvField(get(run))).join(','));
  return `${lines.join('\n')}\n`;
}

/** Writes summary.json and summary.csv into the sweep folder. */
export async function writeSummaryFiles(sweepDir: string, summary: SweepSummary): Promise<void> {
  await writeJson(path.join(sweepDir, SWEEP_FILES.summaryJson), summary);
  await writeFile(path.join(sweepDir, SWEEP_FILES.summaryCsv), summaryCsv(summary.runs));
}
