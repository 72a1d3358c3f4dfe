/**
 * The peer pairs table: per condition, each client → server pair (acklab's programs or the seed's)
 * with both sides' counts side by side, and why they differ, one line per difference. The numbers and
 * the reasons are computed in src/results/pairs.ts; this only lays them out (terminal, Markdown, HTML).
 */
import Table from 'cli-table3';
import { pairLabel, pairRows, type PairRow, type SweepRun } from '../results/index.js';

export const PAIRS_HEAD = ['condition', 'client → server', 'updates sent', 'server got (reads)', 'acks sent', 'acks got', 'client counted'];

const MATCH = /^counts match/;

/** `<Ack>` in Markdown would be an HTML tag (and vanish): the reasons are written as text. */
const htmlText = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Whether the table says anything: a pair with the seed on one side, or counts that differ. */
export function pairsWorthShowing(rows: readonly PairRow[]): boolean {
  return rows.some((r) => r.pair.clientProgram === 'twisted' || r.pair.serverProgram === 'twisted' || !r.pair.explanations.every((e) => MATCH.test(e)));
}

/** The rows of the table as text, with each row's reasons (one line each). */
export function pairsCells(runs: readonly SweepRun[]): { head: string[]; rows: { cells: string[]; why: string[] }[] } {
  const rows = pairRows(runs);
  const several = new Set(rows.map((r) => r.repetition)).size > 1;
  const n = (v: number | null) => (v === null ? '–' : String(v));
  return {
    head: PAIRS_HEAD,
    rows: rows.map(({ condition, repetition, pair: p }) => ({
      cells: [
        several ? `${condition} r${repetition}` : condition,
        pairLabel(p),
        String(p.updatesSent),
        p.updatesReceived === null ? '–' : p.serverReads === null ? String(p.updatesReceived) : `${p.updatesReceived} (${p.serverReads})`,
        n(p.acksSent),
        n(p.acksReceived),
        p.clientReads === null ? String(p.acksCounted) : `${p.acksCounted}${p.acksCounted !== p.acksReceived ? ' (reads)' : ''}`,
      ],
      why: p.explanations,
    })),
  };
}

const TITLE = 'peer pairs: each side counted (the seed is the Twisted side; "reads": it counts reads, not <Ack>s)';

/** The terminal table, then why the counts differ, one line per difference; '' when there is nothing to show. */
export function renderTerminalPairs(runs: readonly SweepRun[], options: { color?: boolean } = {}): string {
  if (!pairsWorthShowing(pairRows(runs))) return '';
  const { head, rows } = pairsCells(runs);
  const t = new Table({ head, style: { compact: true, ...(options.color ? {} : { head: [], border: [] }) } });
  for (const r of rows) t.push(r.cells);
  const why = rows.flatMap((r) => (r.why.every((w) => MATCH.test(w)) ? [] : r.why.map((w) => `  ${r.cells[0]}, ${r.cells[1]}: ${w}`)));
  return `${TITLE}\n${t.toString()}\n${why.length > 0 ? `why the counts differ:\n${why.join('\n')}\n` : ''}`;
}

/** report.md's section; '' when there is nothing to show. */
export function renderMarkdownPairs(runs: readonly SweepRun[], table: (head: string[], rows: string[][], rightFrom?: number) => string): string {
  if (!pairsWorthShowing(pairRows(runs))) return '';
  const { head, rows } = pairsCells(runs);
  return [
    '## Peer pairs: what each side counted',
    '',
    'Each client with its server, acklab\'s programs or the seed\'s (Twisted). "server got (reads)": the `<update>`s',
    'that reached the server and in how many reads (the seed\'s server prints each read and acks it once);',
    '"client counted": what the client reports as acks (the seed\'s client counts every read, its greeting too).',
    '',
    // numbers right-aligned, the reasons (last column) left
    table([...head, 'why'], rows.map((r) => [...r.cells, r.why.map(htmlText).join('<br>')]), 2).replace(/---: \|\n/, '--- |\n'),
    '',
  ].join('\n');
}
