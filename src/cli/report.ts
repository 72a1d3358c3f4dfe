/**
 * `acklab report RUNDIR|SWEEPDIR` — recomputes the metrics from a run or sweep folder, prints the
 * comparison table and rewrites summary.json, summary.csv and report.md (a sweep) or metrics.json (a run).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { AcklabError } from '../common/index.js';
import {
  RUN_FILES,
  SWEEP_FILES,
  buildSummary,
  computeRunMetrics,
  isRunDir,
  readManifest,
  readSweepRuns,
  writeJson,
  writeSweepOutputs,
  type SweepSummary,
} from '../experiment/index.js';
import { comparisonTable, renderTerminalTable } from '../report/table.js';
import { REPORT_HTML, writeHtmlReport } from '../report/html.js';

export function register(program: Command): void {
  program
    .command('report')
    .description('print the comparison table of a run or sweep folder and rewrite its report.md')
    .argument('<dir>', 'a sweep folder (lab/runs/<timestamp>-<name>) or one run folder inside it')
    .action(async (dir: string) => {
      const color = Boolean(process.stdout.isTTY);
      if (isRunDir(dir)) {
        const manifest = await readManifest(dir);
        const metrics = await computeRunMetrics(dir);
        await writeJson(path.join(dir, RUN_FILES.metrics), metrics);
        const table = comparisonTable([{ dir: path.basename(dir), condition: manifest.condition.name, repetition: manifest.repetition, status: manifest.status, metrics }]);
        process.stdout.write(`${renderTerminalTable(table, { color })}\n`);
        for (const p of metrics.problems) process.stdout.write(`problem: ${p}\n`);
        process.stdout.write(`report: ${await writeHtmlReport(dir)}\n`);
        return;
      }
      const runs = await readSweepRuns(dir);
      if (runs.length === 0) throw new AcklabError(`${dir} is neither a run folder (no ${RUN_FILES.manifest}) nor a sweep folder with runs`, 2);
      let info: Omit<SweepSummary, 'runs' | 'table' | 'formatVersion' | 'kind'>;
      try {
        const old = JSON.parse(await readFile(path.join(dir, SWEEP_FILES.summaryJson), 'utf8')) as SweepSummary;
        info = { experiment: old.experiment, file: old.file, seed: old.seed, repetitions: old.repetitions, startedAt: old.startedAt, endedAt: old.endedAt, interrupted: old.interrupted };
      } catch {
        const m = await readManifest(path.join(dir, runs[0]!.dir));
        info = { experiment: m.experiment.name, file: m.experiment.file, seed: m.experiment.seed, repetitions: m.experiment.repetitions, startedAt: m.startedAt, endedAt: m.endedAt, interrupted: false };
      }
      const summary = buildSummary(info, runs);
      await writeSweepOutputs(dir, summary);
      process.stdout.write(`${renderTerminalTable(summary.table, { color })}\nreport: ${path.join(dir, SWEEP_FILES.reportMd)}, ${path.join(dir, REPORT_HTML)}\n`);
    });
}
