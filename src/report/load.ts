/**
 * A report's input from a folder on disk: one run folder, or a sweep folder (any folder of run
 * folders). The sweep's summary is recomputed from its runs with the recorded sweep facts
 * (experiment, seed, times) from summary.json, or from the first run's manifest when there is none.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError } from '../common/index.js';
import { RUN_FILES, SWEEP_FILES, buildSummary, isRunDir, loadRun, loadSweep, sweepRunOf, type SweepInfo } from '../results/index.js';
import type { ReportInput } from './html-data.js';

export async function loadReportInput(dir: string): Promise<ReportInput> {
  if (!existsSync(dir)) throw new AcklabError(`${dir}: no such folder`, 2);
  if (isRunDir(dir)) {
    const run = await loadRun(dir);
    return { kind: 'run', dir: run.dir, run };
  }
  const sweep = await loadSweep(dir);
  if (sweep.runs.length === 0) {
    const holds = (await readdir(dir)).slice(0, 10).join(', ') || 'nothing';
    throw new AcklabError(
      `${dir} is neither a run folder (no ${RUN_FILES.manifest}) nor a sweep folder with runs${sweep.problems.length ? ` (${sweep.problems.join('; ')})` : ''}; it holds: ${holds}`,
      2,
    );
  }
  const old = sweep.summary;
  const problems = [...sweep.problems];
  let info: SweepInfo;
  if (old) {
    info = { experiment: old.experiment, file: old.file, seed: old.seed, repetitions: old.repetitions, startedAt: old.startedAt, endedAt: old.endedAt, interrupted: old.interrupted };
  } else {
    const m = sweep.runs[0]!.manifest;
    info = { experiment: m.experiment.name, file: m.experiment.file, seed: m.experiment.seed, repetitions: m.experiment.repetitions, startedAt: m.startedAt, endedAt: m.endedAt, interrupted: false };
    problems.push(`no ${SWEEP_FILES.summaryJson} in this folder (the sweep did not finish, or this is a plain folder of runs): the table is computed from its ${sweep.runs.length} run folder(s)`);
  }
  const summary = buildSummary(info, sweep.runs.map((r) => sweepRunOf(r, sweep.dir)));
  return { kind: 'sweep', dir: path.resolve(dir), summary, runs: sweep.runs, problems };
}
