/**
 * `acklab report RUNDIR|SWEEPDIR` — recomputes the metrics from a run or sweep folder, prints the
 * comparison table and rewrites summary.json, summary.csv, report.md and report.html (a sweep), or
 * metrics.json and report.html (a run).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { RUN_FILES, comparisonTable, sweepRunOf, writeJson, writeSummaryFiles } from '../results/index.js';
import { loadReportInput, renderTerminalPairs, renderTerminalTable, writeReports } from '../report/index.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('print the comparison table of a run or sweep folder and rewrite its report.md and report.html')
    .argument('<dir>', 'a sweep folder (lab/runs/<timestamp>-<name>) or one run folder inside it')
    .action(async (dir: string) => {
      const color = Boolean(process.stdout.isTTY);
      const input = await loadReportInput(dir);
      if (input.kind === 'run') {
        await writeJson(path.join(input.dir, RUN_FILES.metrics), input.run.metrics);
        process.stdout.write(`${renderTerminalTable(comparisonTable([sweepRunOf(input.run, path.dirname(input.dir))]), { color })}\n`);
        for (const p of input.run.metrics.problems) process.stdout.write(`problem: ${p}\n`);
      } else {
        await writeSummaryFiles(input.dir, input.summary);
        process.stdout.write(`${renderTerminalTable(input.summary.table, { color })}\n`);
        const pairs = renderTerminalPairs(input.summary.runs, { color });
        if (pairs) process.stdout.write(`\n${pairs}`);
      }
      const written = await writeReports(input);
      process.stdout.write(`report: ${[written.markdown, written.html].filter(Boolean).join(', ')}\n`);
    });
}
