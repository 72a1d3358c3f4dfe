/**
 * What a run's own process faults mean for its results: a node the timeline killed is not a crash,
 * and a server the timeline started again is counted over all its starts.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { comparisonTable, loadRun, sweepRunOf, type RunManifest, type TimelineRecord } from '../../../src/results/index.js';

const SWEEP = path.resolve(import.meta.dirname, '../../fixtures/runs/loopback-sweep');
const DOCKER = path.resolve(import.meta.dirname, '../../fixtures/runs/docker-sweep');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of a fixture run whose manifest `edit` changes. */
function runCopy(name: string, edit: (m: RunManifest, dir: string) => void, sweep = SWEEP): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'acklab-test-faults-')), name);
  dirs.push(path.dirname(dir));
  cpSync(path.join(sweep, name), dir, { recursive: true });
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as RunManifest;
  edit(m, dir);
  writeFileSync(file, JSON.stringify(m));
  return dir;
}

const played = (atMs: number, verb: 'kill' | 'stop' | 'start' | 'restart', node: string): TimelineRecord => ({
  atMs,
  startedAtMs: atMs,
  appliedAtMs: atMs + 20,
  text: `at ${atMs / 1000}s ${verb} ${node}`,
  step: { atMs, action: { kind: 'process', verb, node }, text: `at ${atMs / 1000}s ${verb} ${node}` },
  ok: true,
});

describe('process faults in the results', () => {
  it('a client the timeline killed is "killed", not crashed: the run counts and the programs check passes', async () => {
    // without the step the same output is a crash (see metrics.test.ts)
    const crashed = await loadRun(path.join(SWEEP, 'crash-r1'));
    expect(crashed.metrics.crashed).toBe(true);
    expect(crashed.verdict.checks.find((c) => c.name === 'programs')!.verdict).toBe('fail');

    const dir = runCopy('crash-r1', (m) => (m.timeline = [played(1000, 'kill', 'client')]));
    const run = await loadRun(dir);
    expect(run.metrics.crashed).toBe(false);
    expect(run.metrics.peer!.clients[0]).toMatchObject({ node: 'client', status: 'killed', exitCode: 137 });
    expect(run.metrics.problems.filter((p) => /crashed/.test(p))).toEqual([]);
    expect(run.verdict.checks.find((c) => c.name === 'programs')).toMatchObject({ verdict: 'pass', reason: "client ended by the run's own process faults" });
    // its numbers are in the table
    const table = comparisonTable([sweepRunOf(run, path.dirname(dir))]);
    expect(table.rows[0]).toMatchObject({ runs: 1, ok: 1, crashed: 0, invalid: 0 });
  });

  it('a node killed and started again is judged by its last start', async () => {
    const dir = runCopy('crash-r1', (m) => (m.timeline = [played(1000, 'kill', 'client'), played(2000, 'start', 'client')]));
    const run = await loadRun(dir);
    expect(run.metrics.peer!.clients[0]!.status).toBe('crashed');
  });

  it("a server started again is counted over all its starts: the earlier start's events are read too", async () => {
    const dir = runCopy('baseline-r1', (m, d) => {
      // split the server's events in two starts, as the runner collects them
      const events = readFileSync(path.join(d, 'nodes/server/events.ndjson'), 'utf8').trim().split('\n');
      const half = events.findIndex((l, i) => i > 2 && JSON.parse(l).event === 'update_received' && i > events.length / 2);
      mkdirSync(path.join(d, 'nodes/server/earlier/1'), { recursive: true });
      writeFileSync(path.join(d, 'nodes/server/earlier/1/acklab-events.ndjson'), `${events.slice(0, half).join('\n')}\n`);
      writeFileSync(path.join(d, 'nodes/server/events.ndjson'), `${events.slice(half).join('\n')}\n`);
      const server = m.nodes.find((n) => n.name === 'server')!;
      server.files.extra.push('nodes/server/earlier/1/acklab-events.ndjson');
      server.starts = 2;
      m.timeline = [played(1000, 'restart', 'server')];
    }, DOCKER);
    const run = await loadRun(dir);
    const pair = run.metrics.pairs!.find((p) => p.server === 'server')!;
    expect(pair.updatesReceived).toBe(run.metrics.peer!.updatesSent);
    expect(pair.explanations.join(' ')).not.toMatch(/never reached the server/);
  });
});
