/**
 * The comparison table: conditions as rows, the peer and mcast metrics as columns, each cell the
 * spread over the condition's repetitions (min / median / max; one value when there is one run).
 * Runs that failed, were invalid or whose workload crashed are counted in `crashed`/`runs` but kept
 * out of the numbers, so a crash never shows up as "0 acks". Rendering is src/report's job.
 */
import { max, median, min } from 'simple-statistics';
import { ecdf } from './metrics.js';
import type { ComparisonColumn, ComparisonRow, ComparisonTable, ConditionCdf, RunMetrics, RunSeries, Spread, SweepRun } from './format.js';

type Extract = (m: RunMetrics) => number | null | undefined;

/** `sparse`: shown only when some run has a value other than 0 (a column of zeros says nothing). */
const COLUMNS: (ComparisonColumn & { get: Extract; sparse?: boolean })[] = [
  { key: 'peer.updatesSent', label: 'updates', unit: '', get: (m) => m.peer?.updatesSent },
  { key: 'peer.acksReceived', label: 'acks', unit: '', get: (m) => m.peer?.acksReceived },
  { key: 'peer.ackRatio', label: 'ack ratio', unit: '%', get: (m) => (m.peer?.ackRatio == null ? null : m.peer.ackRatio * 100) },
  { key: 'peer.ackRttMs.p50', label: 'rtt p50', unit: 'ms', get: (m) => m.peer?.ackRttMs.p50 },
  { key: 'peer.ackRttMs.p95', label: 'rtt p95', unit: 'ms', get: (m) => m.peer?.ackRttMs.p95 },
  { key: 'peer.ackRttMs.p99', label: 'rtt p99', unit: 'ms', get: (m) => m.peer?.ackRttMs.p99 },
  { key: 'peer.connectionsLost', label: 'conn lost', unit: '', get: (m) => m.peer?.connectionsLost },
  { key: 'mcast.sent', label: 'mc sent', unit: '', get: (m) => m.mcast?.sent },
  { key: 'mcast.delivered', label: 'mc deliv', unit: '', get: (m) => m.mcast?.delivered },
  { key: 'mcast.undelivered', label: 'mc undeliv', unit: '', get: (m) => m.mcast?.undelivered },
  { key: 'mcast.acksReceived', label: 'mc acks', unit: '', get: (m) => m.mcast?.acksReceived },
  { key: 'mcast.ackRatio', label: 'mc ack ratio', unit: '%', get: (m) => (m.mcast?.ackRatio == null ? null : m.mcast.ackRatio * 100) },
  { key: 'mcast.deliveryLatencyMs.p50', label: 'deliv p50', unit: 'ms', get: (m) => m.mcast?.deliveryLatencyMs.p50 },
  { key: 'mcast.deliveryLatencyMs.p99', label: 'deliv p99', unit: 'ms', get: (m) => m.mcast?.deliveryLatencyMs.p99 },
  { key: 'mcast.peersLost', label: 'mc peers lost', unit: '', get: (m) => m.mcast?.peersLost, sparse: true },
];

export function spread(values: number[]): Spread {
  if (values.length === 0) return { n: 0, min: null, median: null, max: null };
  return { n: values.length, min: min(values), median: median(values), max: max(values) };
}

/** A run whose numbers count: it ran to the end ok and no workload program crashed. */
export function usable(run: SweepRun): run is SweepRun & { metrics: RunMetrics } {
  return run.metrics !== null && run.status === 'ok' && !run.metrics.crashed;
}

function orderCell(runs: SweepRun[]): string | null {
  const checks = runs.flatMap((r) => (r.metrics?.mcast ? [r.metrics.mcast.order] : []));
  if (checks.length === 0) return null;
  const failed = checks.find((c) => !c.ok);
  if (failed && !failed.ok) return `FAIL: ${failed.firstDivergence}`;
  const incomplete = checks.filter((c) => c.ok && !c.complete).length;
  return incomplete > 0 ? `pass (prefix; ${incomplete}/${checks.length} incomplete)` : 'pass';
}

export function comparisonTable(runs: SweepRun[]): ComparisonTable {
  const conditions = [...new Set(runs.map((r) => r.condition))];
  const present = COLUMNS.filter((c) => runs.some((r) => {
    const v = r.metrics ? c.get(r.metrics) : null;
    return v != null && !(c.sparse && v === 0);
  }));
  const rows: ComparisonRow[] = conditions.map((condition) => {
    const mine = runs.filter((r) => r.condition === condition);
    const ok = mine.filter(usable);
    const cells: Record<string, Spread> = {};
    for (const column of present) {
      cells[column.key] = spread(ok.flatMap((r) => {
        const v = column.get(r.metrics);
        return v == null ? [] : [v];
      }));
    }
    const invalid = mine.filter((r) => r.status === 'invalid').length;
    return { condition, runs: mine.length, ok: ok.length, crashed: mine.length - ok.length - invalid, invalid, cells, order: orderCell(mine) };
  });
  return { columns: present.map(({ key, label, unit }) => ({ key, label, unit })), rows };
}

/**
 * Latency CDFs per condition: every ack round trip and every mcast delivery latency of the
 * condition's usable runs, pooled (the same runs as the table), conditions in the table's order.
 */
export function conditionCdfs(runs: readonly { run: SweepRun; series: RunSeries }[]): ConditionCdf[] {
  const conditions = [...new Set(runs.map((r) => r.run.condition))];
  const out: ConditionCdf[] = [];
  for (const metric of ['ack-rtt', 'delivery-latency'] as const) {
    for (const condition of conditions) {
      const mine = runs.filter((r) => r.run.condition === condition && usable(r.run));
      const values = mine.flatMap((r) => (metric === 'ack-rtt' ? r.series.rtts.map((p) => p.rttMs) : r.series.deliveries.map((d) => d.latencyMs)));
      if (values.length > 0) out.push({ condition, metric, n: values.length, runs: mine.length, points: ecdf(values) });
    }
  }
  return out;
}
