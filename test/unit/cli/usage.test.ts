/**
 * The CLI's rules that need no engine: --version, a typo'd verb or flag (the suggestion and one
 * line, exit 2), and exit 2 for every kind of usage mistake, verb by verb — checked before anything
 * touches Docker. Exit 1 and 0 with a lab are in test/integration/cli/verbs.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { captureCliOutput } from '../../support/cli-output.js';

const cli = captureCliOutput();
const ROOT = path.resolve(import.meta.dirname, '../../..');

async function acklab(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  await main(argv);
  return { code: Number(process.exitCode ?? 0), out: cli.out, err: cli.err };
}

describe('acklab --version', () => {
  it('prints the package version, exit 0', async () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      cli.out = '';
      expect(await acklab(flag)).toMatchObject({ code: 0, out: `${pkg.version}\n` });
    }
  });
});

describe('a typo', () => {
  it("in a verb: the suggestion and one line, not the whole help (exit 2)", async () => {
    const r = await acklab('imapir', 'x');
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: unknown command 'imapir'\n(Did you mean impair?)\n(run "acklab --help" for the verbs)\n`);
  });

  it("in a flag: the suggestion and the verb's help command (exit 2)", async () => {
    const r = await acklab('impair', 'lab', 'n1', '--dealy', '5ms');
    expect(r.code).toBe(2);
    expect(r.err).toBe(`error: unknown option '--dealy'\n(Did you mean --delay?)\n(run "acklab impair --help" for its usage)\n`);
  });
});

// Every one of these is refused before Docker is asked anything: exit 2, the reason on stderr.
const USAGE: [string, string[], RegExp][] = [
  ['up: no file', ['up'], /missing required argument 'file'/],
  ['up: a file that is not there', ['up', '/nonexistent/topology.yaml'], /\/nonexistent\/topology\.yaml:1:1: cannot read the file: ENOENT/],
  ['up: a bad --ready-timeout', ['up', 'lab/topologies/echo.yaml', '--ready-timeout', 'soon'], /--ready-timeout: "soon" is not a duration/],
  ['up: a bad --overlay-timeout', ['up', 'lab/topologies/echo.yaml', '--overlay-timeout', 'later'], /--overlay-timeout: "later" is not a duration/],
  ['up: an --overlay-timeout out of range', ['up', 'lab/topologies/echo.yaml', '--overlay-timeout', '0s'], /--overlay-timeout must be greater than 0 and at most 2\^31−1 ms \(got "0s"\)/],
  ['up: a topology with problems', ['up', 'test/fixtures/topologies/bad/jitter-above-delay.yaml'], /topology has 1 problem/],
  ['up: --dry-run with --json', ['up', 'lab/topologies/echo.yaml', '--dry-run', '--json'], /--dry-run prints the plan for reading; give it without --json/],
  ['down: a lab and --all', ['down', 'x', '--all'], /give a lab or --all, not both/],
  ['logs: no node', ['logs', 'lab'], /missing required argument 'node'/],
  ['logs: a bad --tail', ['logs', 'lab', 'n1', '--tail', 'ten'], /--tail must be a whole number ≥ 0 \(got "ten"\)/],
  ['logs: a bad --since', ['logs', 'lab', 'n1', '--since', 'yesterday'], /"yesterday" is neither a duration before now/],
  ['exec: no command', ['exec', 'lab', 'n1'], /missing required argument 'command'/],
  ['cp: not NODE:PATH', ['cp', 'lab', '/etc/hosts', '.'], /"\/etc\/hosts" is not NODE:PATH/],
  ['kill: a bad --signal', ['kill', 'lab', 'n1', '--signal', 'kill -9'], /--signal must be a signal name like SIGTERM/],
  ['stop: a bad --grace', ['stop', 'lab', 'n1', '--grace', '10'], /"10" is not a duration/],
  ['impair: a value that breaks a rule', ['impair', 'lab', 'n1', '--delay', '5ms', '--jitter', '9ms'], /--jitter: jitter must be ≤ delay/],
  ['impair: a value that does not parse', ['impair', 'lab', 'n1', '--loss', '5'], /--loss: percentage 5 has no "%"|--loss: "5" is not a percentage/],
  ['impair: a bad --backend', ['impair', 'lab', 'n1', '--delay', '5ms', '--backend', 'tc'], /--backend must be one of netem, userspace/],
  ['partition: one group', ['partition', 'lab', 'n1,n2'], /a partition needs at least two groups/],
  ['partition: --one-way with three nodes', ['partition', 'lab', '--one-way', 'a', 'b', 'c'], /--one-way takes exactly two nodes/],
  ['heal: a bad --backend', ['heal', 'lab', '--backend', 'x'], /--backend must be one of/],
  ['conditions: no lab', ['conditions'], /missing required argument 'lab'/],
  ['run: a file that is not there', ['run', '/nonexistent.yaml'], /nonexistent\.yaml/],
  ['run: a bad --parallel', ['run', 'lab/experiments/ack-vs-conditions.yaml', '--parallel', '0'], /--parallel must be a whole number 1–64 \(got "0"\)/],
  ['report: a folder that is not there', ['report', '/nonexistent'], /\/nonexistent: no such folder/],
  ['report: a file, not a folder', ['report', 'README.md'], /README.md is a file; give a sweep folder or one run folder inside it/],
  ['check-order: a bad --expect', ['check-order', 'a.jsonl', '--expect', 'many'], /--expect must be a non-negative integer/],
  ['completion: an unknown shell', ['completion', 'tcsh'], /command-argument value 'tcsh' is invalid/],
  ['images: a bad --base-image', ['images', '--base-image', 'gpu=x'], /--base-image "gpu=x": expected ROLE=IMAGE/],
];

describe('usage errors exit 2, verb by verb', () => {
  it.each(USAGE)('%s', async (_what, argv, message) => {
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const r = await acklab(...argv);
      expect(r.err).toMatch(message);
      expect(r.code, r.err).toBe(2);
      expect(r.out).toBe('');
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('report with no folder', () => {
  it('reports the newest sweep under lab/runs; with none there, says so (exit 2)', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const empty = mkdtempSync(path.join(tmpdir(), 'acklab-noruns-'));
    const cwd = process.cwd();
    process.chdir(empty);
    try {
      const r = await acklab('report');
      expect(r.code).toBe(2);
      expect(r.err).toContain('no sweep folder under lab/runs/; give the folder `acklab run` printed');
    } finally {
      process.chdir(cwd);
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
