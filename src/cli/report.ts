/**
 * `acklab report [DIR] [--json] [--junit FILE]` — recomputes the metrics and verdicts from a run
 * or sweep folder (default: the newest sweep under lab/runs), prints the comparison table and the
 * verdicts, rewrites summary.json, summary.csv, report.md and report.html (a sweep), or
 * metrics.json and report.html (a run), and exits 1 unless every run passed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../common/index.js';
import type { SweepRun } from '../results/index.js';
import { loadReport, loadResults } from './load.js';
import { printJson } from './input.js';
import { gateOnVerdict, renderVerdicts, writeJunitFile, type ResultsJson } from './results-output.js';

/** Where `acklab run` puts sweeps by default, relative to the working directory. */
export const RUNS_DIR = path.join('lab', 'runs');

/** The newest sweep folder under `root` (sweep folders are named `<timestamp>-<experiment>`, so by name). */
export async function newestSweep(root = RUNS_DIR): Promise<string> {
  const { isRunDir, isSweepDir } = await loadResults();
  const entries = existsSync(root) ? readdirSync(root, { withFileTypes: true }) : [];
  const sweeps = entries.filter((e) => e.isDirectory() && (isSweepDir(path.join(root, e.name)) || isRunDir(path.join(root, e.name)))).map((e) => e.name).sort();
  const newest = sweeps.at(-1);
  if (newest === undefined) throw new UsageError(`no sweep folder under ${root}/; give the folder \`acklab run\` printed (runs: …)`);
  return path.join(root, newest);
}

export function register(program: Command): void {
  program
    .command('report')
    .description('print the comparison table and verdicts of a run or sweep folder, rewrite its report.md and report.html; exit 1 unless every run passed')
    .argument('[dir]', `a sweep folder (${RUNS_DIR}/<timestamp>-<name>) or one run folder inside it; default: the newest sweep under ${RUNS_DIR}`)
    .option('--junit <file>', 'also write the verdicts as JUnit XML: one test case per run and check')
    .option('--json', 'print the results as one JSON document on stdout; the table goes to stderr (shape: README "Machine-readable output")')
    .action(async (dirArg: string | undefined, opts: { junit?: string; json?: boolean }) => {
      const dir = dirArg ?? (await newestSweep());
      const [{ RUN_FILES, comparisonTable, sweepRunOf, worst, writeJson, writeSummaryFiles }, { loadReportInput, renderTerminalPairs, renderTerminalTable, writeReports }] = await Promise.all([
        loadResults(),
        loadReport(),
      ]);
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file; give a sweep folder or one run folder inside it`);
      const human = opts.json ? process.stderr : process.stdout;
      const color = Boolean((human as NodeJS.WriteStream).isTTY);
      const input = await loadReportInput(dir);
      let runs: SweepRun[];
      let experiment: string;
      let interrupted = false;
      if (input.kind === 'run') {
        await writeJson(path.join(input.dir, RUN_FILES.metrics), input.run.metrics);
        runs = [sweepRunOf(input.run, path.dirname(input.dir))];
        experiment = input.run.manifest.experiment.name;
        human.write(`${renderTerminalTable(comparisonTable(runs), { color })}\n`);
        for (const p of input.run.metrics.problems) human.write(`problem: ${p}\n`);
      } else {
        await writeSummaryFiles(input.dir, input.summary);
        runs = input.summary.runs;
        experiment = input.summary.experiment;
        interrupted = input.summary.interrupted;
        human.write(`${renderTerminalTable(input.summary.table, { color })}\n`);
        const pairs = renderTerminalPairs(input.summary.runs, { color });
        if (pairs) human.write(`\n${pairs}`);
      }
      const verdict = input.kind === 'sweep' ? input.summary.verdict : worst(runs.map((r) => r.verdict?.verdict ?? 'invalid'));
      const written = await writeReports(input);
      human.write(`report: ${[written.markdown, written.html].filter(Boolean).join(', ')}\n`);
      human.write(renderVerdicts(runs, verdict));
      if (opts.junit) {
        await writeJunitFile(opts.junit, experiment, runs);
        human.write(`junit:  ${opts.junit}\n`);
      }
      if (opts.json) {
        printJson({ kind: 'acklab-results', experiment, dir: path.resolve(input.dir), verdict, interrupted, runs, reports: { ...written } } satisfies ResultsJson);
      }
      gateOnVerdict(runs, verdict);
    });
}
