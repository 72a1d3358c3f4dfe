/**
 * `acklab run FILE [--out DIR] [--parallel N] [--json] [--junit FILE]` — runs an experiment: every
 * condition × repetition in its own lab, then prints the comparison table, where the report is,
 * and the verdicts; exits 1 unless every run passed. Ctrl-C stops the runs, collects what they
 * have, takes every lab down, and still writes the summary.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AcklabError } from '../common/index.js';
import type { SweepSummary } from '../results/index.js';
import type { WrittenReports } from '../report/index.js';
import { loadExperiment, loadReport } from './load.js';
import { printJson, wholeNumber } from './input.js';
import { gateOnVerdict, renderVerdicts as renderRunVerdicts, writeJunitFile, type ResultsJson } from './results-output.js';

/** One line per run and per check that did not pass: what `acklab run` exits with, and why. */
export function renderVerdicts(summary: SweepSummary): string {
  return renderRunVerdicts(summary.runs, summary.verdict);
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run an experiment (conditions × repetitions, each in its own lab), compare the ack counts, exit 1 unless every run passes its checks')
    .argument('<file>', 'experiment file (YAML), e.g. lab/experiments/ack-vs-conditions.yaml')
    .option('--out <dir>', 'sweep folder (default lab/runs/<timestamp>-<name>)')
    .option('--parallel <n>', 'runs at once, each its own lab', wholeNumber('--parallel', 1), 1)
    .option('--junit <file>', 'also write the verdicts as JUnit XML: one test case per run and check')
    .option('--json', 'print the results as one JSON document on stdout; the table goes to stderr (shape: README "Machine-readable output")')
    .action(async (file: string, opts: { out?: string; parallel: number; junit?: string; json?: boolean }) => {
      const [{ loadExperimentFile, runExperiment }, { renderTerminalPairs, renderTerminalTable, writeReports }] = await Promise.all([loadExperiment(), loadReport()]);
      const loaded = await loadExperimentFile(file);
      const human = opts.json ? process.stderr : process.stdout;
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write('\nacklab run: interrupted — stopping the runs, collecting their logs and taking the labs down (Ctrl-C again to force)\n');
          controller.abort(new Error('interrupted'));
        } else {
          process.stderr.write('acklab run: forced exit; labs may be left running — `acklab down --all` removes them\n');
          process.exit(130);
        }
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const { dir, summary, runs } = await runExperiment(loaded, { parallel: opts.parallel, signal: controller.signal, ...(opts.out ? { outDir: opts.out } : {}) });
        // report.html (charts, space-time diagrams) must never cost the results collected above
        const written: Partial<WrittenReports> = await writeReports({ kind: 'sweep', dir, summary, runs }).catch((err: Error) => {
          process.stderr.write(`report not written: ${err.message}\n`);
          return {};
        });
        const color = Boolean((human as NodeJS.WriteStream).isTTY);
        human.write(`\n${summary.experiment}: ${summary.runs.length} run(s)\n${renderTerminalTable(summary.table, { color })}\n`);
        const pairs = renderTerminalPairs(summary.runs, { color });
        if (pairs) human.write(`\n${pairs}`);
        const relative = path.relative(process.cwd(), dir);
        const rel = relative === '' ? '.' : relative.startsWith('..') ? dir : relative;
        const html = existsSync(path.join(dir, 'report.html')) ? `, ${path.join(rel, 'report.html')}` : '';
        human.write(`report: ${path.join(rel, 'report.md')}${html}\nruns:   ${rel}\n`);
        human.write(renderVerdicts(summary));
        if (opts.junit) {
          await writeJunitFile(opts.junit, summary.experiment, summary.runs);
          human.write(`junit:  ${opts.junit}\n`);
        }
        if (opts.json) {
          printJson({
            kind: 'acklab-results',
            experiment: summary.experiment,
            dir: path.resolve(dir),
            verdict: summary.verdict,
            interrupted: summary.interrupted,
            runs: summary.runs,
            reports: { ...written },
          } satisfies ResultsJson);
        }
        if (summary.interrupted) throw new AcklabError('interrupted: the runs above were collected and every lab was taken down', 130);
        gateOnVerdict(summary.runs, summary.verdict);
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
