/** report.md: the comparison table and, per run, its status, problems and where its logs are. */
import type { SweepSummary } from '../results/index.js';
import { formatDuration } from '../common/index.js';
import { renderMarkdownPairs } from './pairs.js';
import { tableCells } from './table.js';

const escape = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

/** A pipe table; columns from `rightFrom` on are right-aligned (numbers). */
export function markdownTable(head: string[], rows: string[][], rightFrom = head.length): string {
  return [
    `| ${head.map(escape).join(' | ')} |`,
    `| ${head.map((_, i) => (i < rightFrom ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ].join('\n');
}

export function renderMarkdownReport(summary: SweepSummary): string {
  const { head, rows } = tableCells(summary.table);
  const elapsed = Date.parse(summary.endedAt) - Date.parse(summary.startedAt);
  const lines = [
    `# ${summary.experiment}`,
    '',
    `Experiment \`${summary.file}\`, seed ${summary.seed}, ${summary.repetitions} repetition(s), ` +
      `${summary.runs.length} run(s) in ${Number.isFinite(elapsed) ? formatDuration(Math.round(elapsed / 100) * 100) : '?'}` +
      `${summary.interrupted ? ' — **interrupted** (Ctrl-C): only the runs below were collected' : ''}.`,
    '',
    `**Verdict: ${summary.verdict.toUpperCase()}** — \`acklab run\` exits ${summary.interrupted ? 130 : summary.verdict === 'pass' ? 0 : 1}.`,
    '',
    'Cells are one value per condition, or min / median / max over repetitions. Runs that failed or whose',
    'workload crashed are left out of the numbers and counted in "runs".',
    '',
    markdownTable(head, rows, 2),
    '',
    renderMarkdownPairs(summary.runs, markdownTable),
    '## Runs',
    '',
    markdownTable(
      ['run', 'status', 'verdict', 'problems'],
      summary.runs.map((r) => [
        `[${r.dir}](${r.dir}/manifest.json)`,
        r.metrics?.crashed ? `${r.status}, crashed` : r.status,
        r.verdict
          ? [r.verdict.verdict, ...r.verdict.checks.filter((c) => c.verdict !== 'pass').map((c) => `${c.name} ${c.verdict}: ${c.reason}`)].join('; ')
          : 'invalid: the run could not be read back',
        r.metrics?.problems.join('; ') || '–',
      ]),
    ),
    '',
  ];
  return lines.join('\n');
}
