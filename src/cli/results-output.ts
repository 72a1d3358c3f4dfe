/**
 * What `run` and `report` share: the verdict lines, `--junit FILE`, the `--json` document and the
 * exit status (1 unless every run passed). The judgement itself lives in src/results/verdict.ts.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError } from '../common/index.js';
import type { SweepRun, Verdict } from '../results/index.js';
import { loadResults } from './load.js';

/** What `acklab run --json` and `acklab report --json` print (README "Machine-readable output"). */
export interface ResultsJson {
  kind: 'acklab-results';
  experiment: string;
  /** The sweep folder (or the one run folder given to `report`), absolute. */
  dir: string;
  /** The worst run's verdict: pass, fail or invalid. */
  verdict: Verdict;
  interrupted: boolean;
  /** Per run: dir, condition, repetition, status, metrics, and verdict { verdict, checks: [{ name, verdict, reason }] }. */
  runs: SweepRun[];
  /** Paths of the reports written. */
  reports: { markdown?: string; html?: string };
}

/** One line per run and per check that did not pass: what the verb exits with, and why. */
export function renderVerdicts(runs: readonly SweepRun[], verdict: Verdict): string {
  const lines = [`verdict: ${verdict.toUpperCase()}`];
  for (const r of runs) {
    const v = r.verdict;
    lines.push(`  ${(v?.verdict ?? 'invalid').toUpperCase().padEnd(7)} ${r.dir}`);
    for (const c of v?.checks ?? []) if (c.verdict !== 'pass') lines.push(`          ${c.name}: ${c.reason}`);
    if (!v) lines.push('          the run could not be read back');
  }
  return `${lines.join('\n')}\n`;
}

export async function writeJunitFile(file: string, experiment: string, runs: readonly SweepRun[]): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await (await loadResults()).writeJunit(file, { experiment, runs });
}

/** Exit 1 (as an error the CLI prints) unless every run passed. */
export function gateOnVerdict(runs: readonly SweepRun[], verdict: Verdict): void {
  if (verdict === 'pass') return;
  const bad = runs.filter((r) => r.verdict?.verdict !== 'pass');
  throw new AcklabError(`verdict ${verdict.toUpperCase()}: ${bad.length} of ${runs.length} run(s) did not pass`);
}
