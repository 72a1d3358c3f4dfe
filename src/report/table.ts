/**
 * The comparison table: conditions as rows, the peer and mcast metrics as columns, each cell the
 * spread over the condition's repetitions (min / median / max; one value when there is one run).
 * Runs that failed or whose workload crashed are counted in `crashed`/`runs` but kept out of the
 * numbers, so a crash never shows up as "0 acks".
 */
import Table from 'cli-table3';
import { max, median, min } from 'simple-statistics';
import type { ComparisonColumn, ComparisonRow, ComparisonTable, RunMetrics, Spread, SweepRun } from '../experiment/run-format.js';

type Extract = (m: RunMetrics) => number | null | undefined;

const COLUMNS: (ComparisonColumn & { get: Extract })[] = [
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
  { key: 'mcast.deliveryLatencyMs.p50', label: 'deliv p50', unit: 'ms', get: (m) => m.mcast?.deliveryLatencyMs.p50 },
  { key: 'mcast.deliveryLatencyMs.p99', label: 'deliv p99', unit: 'ms', get: (m) => m.mcast?.deliveryLatencyMs.p99 },
];

export function spread(values: number[]): Spread {
  if (values.length === 0) return { n: 0, min: null, median: null, max: null };
  return { n: values.length, min: min(values), median: median(values), max: max(values) };
}

function usable(run: SweepRun): run is SweepRun & { metrics: RunMetrics } {
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
  const present = COLUMNS.filter((c) => runs.some((r) => r.metrics && c.get(r.metrics) != null));
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
    return { condition, runs: mine.length, ok: ok.length, crashed: mine.length - ok.length, cells, order: orderCell(mine) };
  });
  return { columns: present.map(({ key, label, unit }) => ({ key, label, unit })), rows };
}

function fmtNumber(x: number, unit: string): string {
  const digits = unit === 'ms' || unit === '%' ? 1 : Number.isInteger(x) ? 0 : 1;
  return x.toFixed(digits);
}

/** One cell as text: "12", or "10 / 12 / 15" (min / median / max) over several runs; "–" when none. */
export function formatSpread(s: Spread | undefined, unit: string): string {
  if (!s || s.n === 0 || s.min === null || s.median === null || s.max === null) return '–';
  if (s.n === 1 || s.min === s.max) return fmtNumber(s.median, unit);
  return `${fmtNumber(s.min, unit)} / ${fmtNumber(s.median, unit)} / ${fmtNumber(s.max, unit)}`;
}

/** Header and rows as plain strings, shared by the terminal and Markdown renderers. */
export function tableCells(table: ComparisonTable, options: { order?: boolean } = {}): { head: string[]; rows: string[][] } {
  const hasOrder = (options.order ?? true) && table.rows.some((r) => r.order !== null);
  const head = ['condition', 'runs', ...table.columns.map((c) => (c.unit ? `${c.label} (${c.unit})` : c.label)), ...(hasOrder ? ['order'] : [])];
  const rows = table.rows.map((row) => [
    row.condition,
    row.crashed > 0 ? `${row.ok}/${row.runs} (${row.crashed} crashed/failed)` : String(row.runs),
    ...table.columns.map((c) => formatSpread(row.cells[c.key], c.unit)),
    ...(hasOrder ? [row.order ?? '–'] : []),
  ]);
  return { head, rows };
}

// One terminal table per program, so the comparison fits a terminal; report.md keeps one table.
const TERMINAL_GROUPS = [
  { prefix: 'peer.', title: 'peer (client/server: <update> → <Ack>)', order: false },
  { prefix: 'mcast.', title: 'mcast (multicast & ACK, total order)', order: true },
] as const;

export function renderTerminalTable(table: ComparisonTable, options: { color?: boolean } = {}): string {
  const render = (part: ComparisonTable, order: boolean) => {
    const { head, rows } = tableCells(part, { order });
    const t = new Table({ head, style: { compact: true, ...(options.color ? {} : { head: [], border: [] }) }, wordWrap: true });
    for (const row of rows) t.push(row);
    return t.toString();
  };
  const parts = TERMINAL_GROUPS.map((g) => ({ ...g, columns: table.columns.filter((c) => c.key.startsWith(g.prefix)) })).filter(
    (g) => g.columns.length > 0,
  );
  if (parts.length === 0) return render(table, true);
  return parts.map((g) => `${g.title}\n${render({ ...table, columns: g.columns }, g.order)}`).join('\n\n');
}
