/**
 * `acklab run FILE [--out DIR] [--parallel N]` — runs an experiment: every condition ×
 * repetition in its own lab, then prints the comparison table and where the report is.
 * Ctrl-C stops the runs, collects what they have, takes every lab down, and still writes the summary.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { AcklabError, UsageError } from '../common/index.js';
import { loadExperimentFile, runExperiment } from '../experiment/index.js';
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

function positiveInt(flag: string) {
  return (v: string) => {
    if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`${flag} must be a whole number ≥ 1 (got "${v}")`);
    return Number(v);
  };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run an experiment (conditions × repetitions, each in its own lab) and compare the ack counts')
    .argument('<file>', 'experiment file (YAML), e.g. lab/experiments/ack-vs-conditions.yaml')
    .option('--out <dir>', 'sweep folder (default lab/runs/<timestamp>-<name>)')
    .option('--parallel <n>', 'runs at once, each its own lab', positiveInt('--parallel'), 1)
    .action(async (file: string, opts: { out?: string; parallel: number }) => {
      const loaded = await loadExperimentFile(file);
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
