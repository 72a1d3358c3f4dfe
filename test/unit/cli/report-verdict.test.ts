/**
 * Verdicts that gate CI, through `acklab report`: a sweep whose total order was tampered with
 * (one peer's delivered file reordered) exits 1, prints the failing check, and its JUnit names the
 * run, the check and the divergence; the untouched sweep passes (exit 0). `--json` has the documented shape.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultsShape } from '../../../src/cli/json-shapes.js';
import { main } from '../../../src/cli/main.js';
import { captureCliOutput } from '../../support/cli-output.js';

const FIXTURE = path.resolve(import.meta.dirname, '../../fixtures/runs/docker-sweep');
let dir: string;
const cli = captureCliOutput();

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'acklab-verdict-'));
  cpSync(FIXTURE, path.join(dir, 'sweep'), { recursive: true });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Swaps two deliveries of one peer: its sequence no longer agrees with the others'. */
function tamper(run: string, node: string): void {
  const file = path.join(dir, 'sweep', run, 'nodes', node, 'files', 'delivered.jsonl');
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  [lines[3], lines[4]] = [lines[4]!, lines[3]!];
  writeFileSync(file, `${lines.join('\n')}\n`);
}

describe('acklab report as a CI gate', () => {
  it('passes (exit 0) on the untouched sweep, with the documented --json shape', async () => {
    await main(['report', path.join(dir, 'sweep'), '--json']);
    expect(process.exitCode ?? 0).toBe(0);
    const doc = resultsShape.parse(JSON.parse(cli.out));
    expect(doc.verdict).toBe('pass');
    expect(doc.runs.map((r) => r.dir)).toEqual(expect.arrayContaining(['baseline-r1', 'delay-50ms-r1', 'partition-mid-run-r1']));
    expect(doc.runs.every((r) => r.verdict?.verdict === 'pass')).toBe(true);
    expect(cli.err).toContain('verdict: PASS');
  }, 60_000);

  it('a broken total order exits 1, says which check failed, and the JUnit names the run, the check and why', async () => {
    tamper('delay-50ms-r1', 'p2');
    const junit = path.join(dir, 'out', 'junit.xml');
    await main(['report', path.join(dir, 'sweep'), '--junit', junit]);
    expect(process.exitCode).toBe(1);
    expect(cli.out).toMatch(/verdict: FAIL\n {2}PASS {4}baseline-r1\n[\s\S]* {2}FAIL {4}delay-50ms-r1\n {10}total-order: /);
    expect(cli.out.match(/^ {2}FAIL /gm)).toHaveLength(1);
    expect(cli.err).toMatch(/Error: verdict FAIL: 1 of \d+ run\(s\) did not pass/);

    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(junit, 'utf8')) as {
      testsuites: { failures: string; testsuite: { name: string; testcase: { name: string; failure?: { message: string } }[] }[] };
    };
    expect(xml.testsuites.failures).toBe('1');
    const failed = xml.testsuites.testsuite.flatMap((s) => s.testcase.filter((t) => t.failure).map((t) => ({ suite: s.name, test: t.name, message: t.failure!.message })));
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ suite: 'ack-vs-conditions/delay-50ms-r1', test: 'total-order' });
    expect(failed[0]!.message).toMatch(/p2|position|diverge/i);
  }, 60_000);
});
