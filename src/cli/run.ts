/**
 * `acklab run FILE [--out DIR [--force]] [--parallel N] [--max-nodes N] [--dry-run]` — runs an
 * experiment: every condition × repetition in its own lab, then prints the comparison table and
 * where the report is. Ctrl-C stops the runs, collects what they have, takes every lab down, and
 * still writes the summary; a second Ctrl-C exits at once and this process's watchdog removes its
 * labs. `--dry-run` validates everything and prints the plan without touching Docker.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AcklabError, UsageError } from '../common/index.js';
import { checkSweepDir, defaultSweepDir, describeExperimentPlan, loadExperimentFile, prepareExperiment, runExperiment } from '../experiment/index.js';
import { DEFAULT_MAX_NODES } from '../topology/index.js';
import { engineRuntime } from './engine.js';
import { maxNodesOption } from './up.js';
import type { SweepSummary } from '../results/index.js';
import { renderTerminalPairs, renderTerminalTable, writeReports } from '../report/index.js';

/** One line per run and per check that did not pass: what `acklab run` exits with, and why. */
export function renderVerdicts(summary: SweepSummary): string {
  const lines = [`verdict: ${summary.verdict.toUpperCase()}`];
  for (const r of summary.runs) {
    const v = r.verdict;
    lines.push(`  ${(v?.verdict ?? 'invalid').toUpperCase().padEnd(7)} ${r.dir}`);
    for (const c of v?.checks ?? []) if (c.verdict !== 'pass') lines.push(`          ${c.name}: ${c.reason}`);
    if (!v) lines.push('          the run could not be read back');
  }
  return `${lines.join('\n')}\n`;
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
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run an experiment (conditions × repetitions, each in its own lab) and compare the ack counts')
    .argument('<file>', 'experiment file (YAML), e.g. lab/experiments/ack-vs-conditions.yaml')
    .option('--out <dir>', 'sweep folder (default lab/runs/<timestamp>-<name>); an existing non-empty folder is refused')
    .option('--force', 'write into an --out folder that already holds files (run folders of the same names are replaced)')
    .option('--parallel <n>', `runs at once, each its own lab (1–${MAX_PARALLEL})`, positiveInt('--parallel', MAX_PARALLEL), 1)
    .option('--max-nodes <n>', `the most nodes at once: one lab's, and all parallel runs' together (default ${DEFAULT_MAX_NODES})`, maxNodesOption, DEFAULT_MAX_NODES)
    .option('--dry-run', 'validate the experiment completely and print its plan; touch no Docker, write nothing')
    .action(async (file: string, opts: Opts) => {
      const loaded = await loadExperimentFile(file);
      if (opts.dryRun) {
        const prepared = await prepareExperiment(loaded, { parallel: opts.parallel, maxNodes: opts.maxNodes });
        let out = `${path.relative(process.cwd(), defaultSweepDir(loaded.experiment, new Date()))} (a new folder)`;
        if (opts.out !== undefined) {
          await checkSweepDir(path.resolve(opts.out), opts.force);
          out = opts.out;
        }
        process.stdout.write(describeExperimentPlan(loaded, prepared, out));
        return;
      }
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
        await writeReports({ kind: 'sweep', dir, summary, runs }).catch((err: Error) => process.stderr.write(`report not written: ${err.message}\n`));
        const color = Boolean(process.stdout.isTTY);
        process.stdout.write(`\n${summary.experiment}: ${summary.runs.length} run(s)\n${renderTerminalTable(summary.table, { color })}\n`);
        const pairs = renderTerminalPairs(summary.runs, { color });
        if (pairs) process.stdout.write(`\n${pairs}`);
        const relative = path.relative(process.cwd(), dir);
        const rel = relative === '' ? '.' : relative.startsWith('..') ? dir : relative;
        const html = existsSync(path.join(dir, 'report.html')) ? `, ${path.join(rel, 'report.html')}` : '';
        process.stdout.write(`report: ${path.join(rel, 'report.md')}${html}\nruns:   ${rel}\n`);
        process.stdout.write(renderVerdicts(summary));
        if (summary.interrupted) throw new AcklabError('interrupted: the runs above were collected and every lab was taken down', 130);
        if (summary.verdict !== 'pass') {
          const bad = summary.runs.filter((r) => r.verdict?.verdict !== 'pass');
          throw new AcklabError(`verdict ${summary.verdict.toUpperCase()}: ${bad.length} of ${summary.runs.length} run(s) did not pass`);
        }
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
