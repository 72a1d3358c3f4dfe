/**
 * `acklab run FILE [--out DIR [--force]] [--parallel N] [--max-nodes N] [--dry-run] [--json] [--junit FILE]` —
 * runs an experiment: every condition × repetition in its own lab, then prints the comparison
 * table, where the report is, and the verdicts; exits 1 unless every run passed. Ctrl-C stops the
 * runs, collects what they have, takes every lab down, and still writes the summary; a second
 * Ctrl-C exits at once and this process's watchdog removes its labs. `--dry-run` validates
 * everything and prints the plan without touching Docker.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AcklabError, UsageError } from '../common/index.js';
import { DEFAULT_MAX_NODES } from '../topology/names.js';
import { engineRuntime } from './engine.js';
import { maxNodesOption } from './up.js';
import type { SweepSummary } from '../results/index.js';
import type { WrittenReports } from '../report/index.js';
import { loadExperiment, loadReport } from './load.js';
import { printJson, wholeNumber } from './input.js';
import { gateOnVerdict, renderVerdicts as renderRunVerdicts, writeJunitFile, type ResultsJson } from './results-output.js';

/** One line per run and per check that did not pass: what `acklab run` exits with, and why. */
export function renderVerdicts(summary: SweepSummary): string {
  return renderRunVerdicts(summary.runs, summary.verdict);
}

/** The most runs `--parallel` may start at once. */
export const MAX_PARALLEL = 64;

function positiveInt(flag: string, max: number) {
  return (v: string) => {
    if (!/^[1-9]\d*$/.test(v) || Number(v) > max) throw new UsageError(`${flag} must be a whole number 1–${max} (got "${v}")`);
    return Number(v);
  };
}

interface Opts {
  out?: string;
  parallel: number;
  force?: boolean;
  dryRun?: boolean;
  maxNodes: number;
  junit?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run an experiment (conditions × repetitions, each in its own lab), compare the ack counts, exit 1 unless every run passes its checks')
    .argument('<file>', 'experiment file (YAML), e.g. lab/experiments/ack-vs-conditions.yaml')
    .option('--out <dir>', 'sweep folder (default lab/runs/<timestamp>-<name>); an existing non-empty folder is refused')
    .option('--force', 'write into an --out folder that already holds files (run folders of the same names are replaced)')
    .option('--parallel <n>', `runs at once, each its own lab (1–${MAX_PARALLEL})`, positiveInt('--parallel', MAX_PARALLEL), 1)
    .option('--max-nodes <n>', `the most nodes at once: one lab's, and all parallel runs' together (default ${DEFAULT_MAX_NODES})`, maxNodesOption, DEFAULT_MAX_NODES)
    .option('--dry-run', 'validate the experiment completely and print its plan; touch no Docker, write nothing')
    .option('--junit <file>', 'also write the verdicts as JUnit XML: one test case per run and check')
    .option('--json', 'print the results as one JSON document on stdout; the table goes to stderr (shape: README "Machine-readable output")')
    .action(async (file: string, opts: Opts) => {
      const [{ checkSweepDir, defaultSweepDir, describeExperimentPlan, loadExperimentFile, prepareExperiment, runExperiment }, { renderTerminalPairs, renderTerminalTable, writeReports }] =
        await Promise.all([loadExperiment(), loadReport()]);
      const loaded = await loadExperimentFile(file);
      if (opts.dryRun) {
        if (opts.json) throw new UsageError('--dry-run prints the plan for reading; give it without --json');
        const prepared = await prepareExperiment(loaded, { parallel: opts.parallel, maxNodes: opts.maxNodes });
        let out = `${path.relative(process.cwd(), defaultSweepDir(loaded.experiment, new Date()))} (a new folder)`;
        if (opts.out !== undefined) {
          await checkSweepDir(path.resolve(opts.out), opts.force);
          out = opts.out;
        }
        process.stdout.write(describeExperimentPlan(loaded, prepared, out));
        return;
      }
      const human = opts.json ? process.stderr : process.stdout;
      const runtime = await engineRuntime();
      const controller = new AbortController();
      let interrupts = 0;
      const onSigint = () => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write('\nacklab run: interrupted — stopping the runs, collecting their logs and taking the labs down (Ctrl-C again to force)\n');
          controller.abort(new Error('interrupted'));
        } else {
          process.stderr.write("acklab run: forced exit; this run's watchdog removes its labs within seconds (`acklab ps` shows what is left)\n");
          process.exit(130);
        }
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const { dir, summary, runs } = await runExperiment(loaded, {
          runtime,
          parallel: opts.parallel,
          maxNodes: opts.maxNodes,
          force: opts.force === true,
          signal: controller.signal,
          ...(opts.out ? { outDir: opts.out } : {}),
        });
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
