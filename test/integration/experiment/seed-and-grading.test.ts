/**
 * The seed and the grading contract in real containers:
 *  - the seed's Twisted peer and acklab's, in all four pairings on a quiet network: the seed's client
 *    counts the greeting (acks = updates + 1), acklab's counts match, each side counted as it sees it;
 *  - `acklab run lab/experiments/grade-mcast-python.yaml` grades the correct implementation: exit 0;
 *  - `acklab run lab/experiments/grade-mcast-python-broken.yaml`: the baseline passes, the slow link
 *    fails with the first divergence named, and the exit status is 1.
 * Every lab is taken down by the runner; afterAll removes any left behind, by the run's own lab names.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LineProgress, parseExperiment, runExperiment } from '../../../src/experiment/index.js';
import { removeLab } from '../../../src/lab/index.js';
import { renderMarkdownReport } from '../../../src/report/index.js';
import type { PeerPairMetrics, RunManifest, SweepSummary } from '../../../src/results/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const CLI = path.join(ROOT, 'bin/acklab.js');
const PREFIX = `itseed${Math.random().toString(36).slice(2, 6)}`;
const runtime = dockerRuntime();
let work: string;

/** Every lab a sweep folder's runs were started as (their manifests name them). */
async function labsOf(sweepDir: string): Promise<string[]> {
  if (!existsSync(sweepDir)) return [];
  const labs: string[] = [];
  for (const entry of await readdir(sweepDir, { withFileTypes: true })) {
    const manifest = path.join(sweepDir, entry.name, 'manifest.json');
    if (entry.isDirectory() && existsSync(manifest)) labs.push((JSON.parse(readFileSync(manifest, 'utf8')) as { topology: { name: string } }).topology.name);
  }
  return labs;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'acklab-test-seed-'));
});
afterAll(async () => {
  for (const sweep of ['pairs', 'grade', 'broken']) for (const lab of await labsOf(path.join(work, sweep))) await removeLab(runtime, lab).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

describe('the seed in the lab, next to acklab', () => {
  it('the four pairings on a quiet network count as each program counts: the seed client counts the greeting', { timeout: 300_000 }, async () => {
    const file = path.join(work, 'pairs.yaml');
    await writeFile(
      file,
      `name: ${PREFIX}p
duration: 8s
topology:
  name: ${PREFIX}p
  nodes:
    tt-server: { kind: twisted-peer-server }
    tt-client: { kind: twisted-peer-client, args: { server: tt-server } }
    aa-server: { kind: peer-server }
    aa-client: { kind: peer-client, args: { server: aa-server } }
    ta-server: { kind: peer-server }
    ta-client: { kind: twisted-peer-client, args: { server: ta-server } }
    at-server: { kind: twisted-peer-server, args: { port: 7777 } }
    at-client: { kind: peer-client, args: { server: at-server } }
  defaults:
    args:
      twisted-peer-client: { interval: 500ms }
      peer-client: { interval: 500ms }
conditions:
  - name: quiet
`,
    );
    const loaded = parseExperiment(readFileSync(file, 'utf8'), file);
    const { dir, summary } = await runExperiment(loaded, {
      outDir: path.join(work, 'pairs'),
      images: inject('images'),
      progress: new LineProgress({ total: 1, parallel: 1, expectedRunMs: 20_000, write: () => undefined }),
    });
    const run = summary.runs[0]!;
    expect(run.status).toBe('ok');
    const pairs = run.metrics!.pairs!;
    const pair = (client: string) => pairs.find((p) => p.client === client) as PeerPairMetrics;
    expect(pairs.map((p) => [p.client, p.server, `${p.clientProgram} → ${p.serverProgram}`])).toEqual([
      ['tt-client', 'tt-server', 'twisted → twisted'],
      ['aa-client', 'aa-server', 'acklab → acklab'],
      ['ta-client', 'ta-server', 'twisted → acklab'],
      ['at-client', 'at-server', 'acklab → twisted'],
    ]);
    // 16 updates at most in 8 s; a Python client on a loaded machine (another test suite beside this
    // one) takes seconds to import Twisted, so only enough traffic to compare the counts is required
    for (const p of pairs) expect(p.updatesSent, p.client).toBeGreaterThanOrEqual(4);

    // The seed's client: one "ack" per read, the <connection up> greeting included: updates + 1 on a
    // quiet link (less what was in flight when it was stopped: it closes at once).
    for (const client of ['tt-client', 'ta-client']) {
      const p = pair(client);
      expect(p.greetingCounted).toBe(true);
      expect(p.shortfall.transport, client).toBeLessThanOrEqual(1);
      expect(p.acksCounted, client).toBe(p.updatesSent + 1 - p.shortfall.transport);
      expect(p.explanations).toContain('the Twisted client counts the <connection up> greeting as an ack (+1)');
      // its own stdout says the same number
      const stdout = readFileSync(path.join(dir, run.dir, 'nodes', client, 'stdout.log'), 'utf8');
      expect(stdout).toContain(`Received ${p.acksCounted} acks`);
      expect(stdout.split('\n').filter((l) => l === 'Sending update')).toHaveLength(p.updatesSent);
    }
    // The seed's server, on a quiet link: one read per <update>, one <Ack> per read; on 8888 although given 7777.
    for (const p of [pair('tt-client'), pair('at-client')]) {
      expect(p.serverReads).toBe(p.updatesReceived);
      expect(p.acksSent).toBe(p.serverReads);
    }
    expect(readFileSync(path.join(dir, run.dir, 'nodes/at-server/stdout.log'), 'utf8')).toMatch(/^Starting server @0\.0\.0\.0 port 7777$/m);
    // acklab's client counts <Ack>s, whichever server answers; every update acked
    for (const client of ['aa-client', 'at-client']) {
      const p = pair(client);
      expect(p).toMatchObject({ acksCounted: p.updatesSent, acksReceived: p.updatesSent, greetingCounted: false });
      expect(p.explanations).toEqual(['counts match: every <update> got its own <Ack>, counted once']);
    }
    // the seed's client is a peer client of the comparison, with the seed's count
    expect(run.metrics!.peer!.clients.find((c) => c.node === 'tt-client')).toMatchObject({ status: 'completed', acksReceived: pair('tt-client').acksCounted });
    expect(run.verdict?.verdict).toBe('pass');
    expect(renderMarkdownReport(summary)).toContain('## Peer pairs: what each side counted');
  });
});

describe('grading mcast implementations with `acklab run`', () => {
  it('the correct Python implementation passes every condition of grade-mcast-python.yaml: exit 0', { timeout: 600_000 }, async () => {
    const out = path.join(work, 'grade');
    const r = await execa('node', [CLI, 'run', path.join(ROOT, 'lab/experiments/grade-mcast-python.yaml'), '--parallel', '2', '--out', out], { reject: false, all: true, env: { CI: 'true' } });
    expect(r.exitCode, r.all?.slice(-3000)).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    expect(summary.verdict).toBe('pass');
    expect(summary.runs.map((x) => [x.condition, x.verdict?.verdict])).toEqual([
      ['baseline', 'pass'],
      ['delay-jitter', 'pass'],
      ['slow-link', 'pass'],
      ['loss-5pct', 'pass'],
      ['partition-heals', 'pass'],
      ['partition-no-heal', 'pass'],
    ]);
    for (const run of summary.runs) {
      expect(run.verdict!.checks.map((c) => c.name)).toEqual(['run', 'conditions', 'programs', 'total-order', 'accounted', 'mcast-delivery']);
      if (run.condition !== 'partition-no-heal') expect(run.metrics!.mcast).toMatchObject({ sent: 90, delivered: 270, undelivered: 0, order: { ok: true, complete: true } });
    }
    // the partition that never heals: what the members delivered agrees (as far as each got), the
    // shortfall is the partition's
    const cut = summary.runs.find((x) => x.condition === 'partition-no-heal')!;
    expect(cut.metrics!.mcast!.order.ok).toBe(true);
    expect(cut.metrics!.mcast!.undelivered).toBeGreaterThan(0);
    expect(cut.verdict!.checks.find((c) => c.name === 'mcast-delivery')!.reason).toMatch(/deliveries missing, accounted for by "at 2s partition m3 \| m1,m2"/);
    // the members ran the contract: ids from ACKLAB_ID, the image built from the example's folder
    const manifest = JSON.parse(readFileSync(path.join(out, 'baseline-r1', 'manifest.json'), 'utf8')) as RunManifest;
    expect(manifest.images['build-mcast-python']).toMatch(/^acklab\/build-mcast-python:[0-9a-f]{12}$/);
    expect(manifest.nodes.map((n) => n.env?.ACKLAB_ID)).toEqual(['1', '2', '3']);
  });

  it('the broken one passes its quiet baseline, fails behind the slow link naming the first divergence, and exits 1', { timeout: 300_000 }, async () => {
    const out = path.join(work, 'broken');
    const r = await execa('node', [CLI, 'run', path.join(ROOT, 'lab/experiments/grade-mcast-python-broken.yaml'), '--parallel', '2', '--out', out], { reject: false, all: true, env: { CI: 'true' } });
    expect(r.exitCode, r.all?.slice(-3000)).toBe(1);
    expect(r.stdout).toMatch(/^ {2}PASS {4}baseline-r1$/m);
    expect(r.stdout).toMatch(/^ {2}FAIL {4}slow-link-r1$/m);
    // node, position, the two messages
    expect(r.stdout).toMatch(
      /^ {10}total-order: first divergence at position \d+: m\d has \(lamport=\d+, sender=\d, seq=\d+\) but m\d has \(lamport=\d+, sender=\d, seq=\d+\); m\d: position \d+ \(.*\) is not after position \d+ \(.*\) in \(timestamp, sender\) order$/m,
    );
    expect(r.stderr).toContain('Error: verdict FAIL: 1 of 2 run(s) did not pass');
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    expect(summary.runs.map((x) => [x.condition, x.verdict?.verdict])).toEqual([
      ['baseline', 'pass'],
      ['slow-link', 'fail'],
    ]);
  });
});
