/**
 * The comparison table as text: terminal (cli-table3) and the cells shared with Markdown and HTML.
 * The table itself is computed once, in src/results/comparison.ts.
 */
import Table from 'cli-table3';
import type { ComparisonRow, ComparisonTable, Spread } from '../results/index.js';

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

/** `3`, or `1/3 (1 invalid, 1 crashed/failed)`: the runs whose numbers are in the row, and why the others are not. */
function runsCell(row: ComparisonRow): string {
  const left = [row.invalid > 0 ? `${row.invalid} invalid` : '', row.crashed > 0 ? `${row.crashed} crashed/failed` : ''].filter(Boolean);
  return left.length > 0 ? `${row.ok}/${row.runs} (${left.join(', ')})` : String(row.runs);
}

/** Header and rows as plain strings, shared by the terminal and Markdown renderers. */
export function tableCells(table: ComparisonTable, options: { order?: boolean } = {}): { head: string[]; rows: string[][] } {
  const hasOrder = (options.order ?? true) && table.rows.some((r) => r.order !== null);
  const head = ['condition', 'runs', ...table.columns.map((c) => (c.unit ? `${c.label} (${c.unit})` : c.label)), ...(hasOrder ? ['order'] : [])];
  const rows = table.rows.map((row) => [
    row.condition,
    runsCell(row),
    ...table.columns.map((c) => formatSpread(row.cells[c.key], c.unit)),
    ...(hasOrder ? [row.order ?? '–'] : []),
  ]);
  return { head, rows };
}

// One table per program, so the comparison fits a terminal and a narrow window; report.md keeps one table.
const GROUPS = [
  { prefix: 'peer.', title: 'peer (client/server: <update> → <Ack>)', order: false },
  { prefix: 'mcast.', title: 'mcast (multicast & ACK, total order)', order: true },
] as const;

/** The table split by program (peer, mcast), each part with its own columns; the whole table when it has no program columns. */
export function tableGroups(table: ComparisonTable): { title: string; table: ComparisonTable; order: boolean }[] {
  const parts = GROUPS.map((g) => ({ title: g.title, order: g.order, table: { ...table, columns: table.columns.filter((c) => c.key.startsWith(g.prefix)) } })).filter(
    (g) => g.table.columns.length > 0,
  );
  return parts.length > 0 ? parts : [{ title: '', order: true, table }];
}

export function renderTerminalTable(table: ComparisonTable, options: { color?: boolean } = {}): string {
  const render = (part: ComparisonTable, order: boolean) => {
    const { head, rows } = tableCells(part, { order });
    const t = new Table({ head, style: { compact: true, ...(options.color ? {} : { head: [], border: [] }) }, wordWrap: true });
    for (const row of rows) t.push(row);
    return t.toString();
  };
  return tableGroups(table)
    .map((g) => (g.title ? `${g.title}\n${render(g.table, g.order)}` : render(g.table, g.order)))
    .join('\n\n');
}
