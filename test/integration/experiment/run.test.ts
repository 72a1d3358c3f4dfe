/**
 * `acklab run` end to end on real containers: two conditions in parallel labs, a partition that
 * must lower the peer's ack count against baseline, every file of the run folder, nothing left
 * running afterwards; and Ctrl-C (SIGINT) mid-run keeps the collected logs and leaves nothing.
 */
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { LineProgress, parseExperiment, runExperiment } from '../../../src/experiment/index.js';
import { writeReports } from '../../../src/report/index.js';
import type { RunManifest, RunMetrics, SweepSummary } from '../../../src/results/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { waitFor } from '../../support/wait.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PREFIX = `itexp${Math.random().toString(36).slice(2, 6)}`;

/** Containers and networks of labs made by this file (lab names start with PREFIX). */
const runtime = dockerRuntime();
const FILTER = [`${LABELS.managed}=true`, LABELS.lab];

async function leftovers(): Promise<{ containers: string[]; networks: string[] }> {
  const containers = (await runtime.containers.list(FILTER)).filter((c) => c.labels[LABELS.lab]?.startsWith(PREFIX));
  const networks = (await runtime.networks.list(FILTER)).filter((n) => n.labels[LABELS.lab]?.startsWith(PREFIX));
  return { containers: containers.map((c) => c.name), networks: networks.map((n) => n.name) };
}

async function removeLeftovers(): Promise<void> {
  for (const c of await runtime.containers.list(FILTER)) if (c.labels[LABELS.lab]?.startsWith(PREFIX)) await runtime.containers.remove(c.id).catch(() => {});
  for (const n of await runtime.networks.list(FILTER)) if (n.labels[LABELS.lab]?.startsWith(PREFIX)) await runtime.networks.remove(n.id).catch(() => {});
}

function experimentYaml(name: string, duration: string, conditions: string): string {
  return `name: ${name}
seed: 7
duration: ${duration}
topology:
  name: ${name}
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server, interval: 500ms, duration: 10s } }
    p1: { kind: mcast }
    p2: { kind: mcast }
    p3: { kind: mcast }
  defaults:
    args:
      mcast: { count: 5, interval: 200ms }
${conditions}`;
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'acklab-test-experiment-'));
});
afterAll(async () => {
  await removeLeftovers();
  await rm(work, { recursive: true, force: true });
});

describe('acklab run', () => {
  it('runs two conditions in parallel labs; the partition lowers the ack count; nothing is left', { timeout: 180_000 }, async () => {
    const file = path.join(work, 'two.yaml');
    await writeFile(
      file,
      experimentYaml(
        `${PREFIX}a`,
        '15s',
        `conditions:
  - name: baseline
  - name: partition
    timeline:
      - at: 4s partition server | client      # to the end: TCP would deliver the late acks after a heal
`,
      ),
    );
    const lines: string[] = [];
    const out = path.join(work, 'sweep');
    const loaded = parseExperiment(await readFile(file, 'utf8'), file);
    const { dir, summary, runs } = await runExperiment(loaded, {
      outDir: out,
      parallel: 2,
      images: inject('images'),
      progress: new LineProgress({ total: 2, parallel: 2, expectedRunMs: 20_000, write: (l) => lines.push(l) }),
    });
    // what `acklab run` does next: the reports, from the runs the runner already loaded
    await writeReports({ kind: 'sweep', dir, summary, runs });

    expect(summary.runs.map((r) => [r.dir, r.status])).toEqual([['baseline-r1', 'ok'], ['partition-r1', 'ok']]);
    const [baseline, partition] = summary.runs.map((r) => r.metrics!) as [RunMetrics, RunMetrics];
    expect(baseline.crashed).toBe(false);
    expect(partition.crashed).toBe(false);
    expect(baseline.peer!.updatesSent).toBeGreaterThanOrEqual(15);
    expect(baseline.peer!.acksReceived).toBe(baseline.peer!.updatesSent);
    // cut from 4 s to the end: the acks of the later updates never arrive
    expect(partition.peer!.acksReceived).toBeLessThan(baseline.peer!.acksReceived);
    expect(partition.peer!.ackRatio!).toBeLessThan(0.8);
    expect(baseline.mcast).toMatchObject({ sent: 15, delivered: 45, undelivered: 0, order: { ok: true, complete: true } });

    // the run folder
    const runDir = path.join(out, 'partition-r1');
    const manifest = JSON.parse(readFileSync(path.join(runDir, 'manifest.json'), 'utf8')) as RunManifest;
    expect(manifest).toMatchObject({ formatVersion: 1, status: 'ok', repetition: 1, backend: expect.stringMatching(/^(netem|userspace)$/) });
    expect(manifest.timeline.map((t) => [t.text, t.ok])).toEqual([['at 4s partition server | client', true]]);
    expect(manifest.timeline[0]!.appliedAtMs).toBeGreaterThanOrEqual(4000);
    expect(manifest.timeline[0]!.appliedAtMs).toBeLessThan(5000);
    // both sides of the cut report when their kernel switched
    expect(Object.keys(manifest.timeline[0]!.nodes ?? {}).sort()).toEqual(['client', 'server']);
    expect(manifest.timeline[0]!.spreadMs).toBeGreaterThanOrEqual(0);
    expect(manifest.nodes.map((n) => n.name).sort()).toEqual(['client', 'p1', 'p2', 'p3', 'server']);
    for (const node of ['server', 'client', 'p1', 'p2', 'p3']) {
      for (const f of ['stdout.log', 'stderr.log', 'events.ndjson']) expect(existsSync(path.join(runDir, 'nodes', node, f)), `${node}/${f}`).toBe(true);
    }
    expect(readFileSync(path.join(runDir, 'nodes/p2/files/delivered.jsonl'), 'utf8').trim().split('\n')).toHaveLength(15);
    expect(readFileSync(path.join(runDir, 'nodes/server/files/server.log'), 'utf8').length).toBeGreaterThan(0);
    // conditions read back from the kernel: both directions of the cut are in force after the step
    const snapshots = JSON.parse(readFileSync(path.join(runDir, 'conditions.json'), 'utf8')) as { label: string; state: { cuts: unknown[] } }[];
    expect(snapshots.map((s) => s.label)).toEqual(['at 4s partition server | client']);
    expect(snapshots[0]!.state.cuts).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: 'server', to: 'client' }), expect.objectContaining({ from: 'client', to: 'server' })]),
    );

    const saved = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    expect(saved.table.rows.map((r) => r.condition)).toEqual(['baseline', 'partition']);
    expect(readFileSync(path.join(out, 'summary.csv'), 'utf8').split('\n')[1]).toMatch(/^baseline-r1,baseline,1,ok,pass,false,/);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toMatch(/\| partition \| 1 \|/);
    expect(lines.some((l) => /partition-r1: at 4s partition server \| client/.test(l))).toBe(true);

    expect(await leftovers()).toEqual({ containers: [], networks: [] });
  });

  it('Ctrl-C mid-run keeps the collected logs, writes the summary and leaves nothing running', { timeout: 120_000 }, async () => {
    const file = path.join(work, 'long.yaml');
    await writeFile(file, experimentYaml(`${PREFIX}b`, '60s', 'conditions:\n  - name: baseline\n  - name: slow\n    links: [{ from: "*", delay: 20ms }]\n'));
    const out = path.join(work, 'interrupted');
    const child = execa('node', [path.join(ROOT, 'bin/acklab.js'), 'run', file, '--out', out], { reject: false, env: { CI: 'true' }, all: true });
    let output = '';
    child.all!.on('data', (b: Buffer) => (output += b.toString()));
    await waitFor('the first run to start its workload', () => /baseline-r1: running \(/.test(output), { timeoutMs: 60_000, everyMs: 200 });
    // The client's first acks: its events file grows in the container (interval 500 ms).
    const lab = await waitFor('the run\'s client container', async () =>
      (await runtime.containers.list(FILTER)).find((c) => c.labels[LABELS.lab]?.startsWith(`${PREFIX}b`) && c.labels[LABELS.node] === 'client'),
    );
    await waitFor('acks at the client', async () => Number((await runtime.containers.exec(lab.id, ['grep', '-c', 'ack_received', '/tmp/acklab-events.ndjson'])).stdout.trim()) >= 2, {
      timeoutMs: 20_000,
      everyMs: 250,
    });
    child.kill('SIGINT');
    const result = await child;

    expect(result.exitCode).toBe(130);
    expect(output).toMatch(/interrupted/);
    const runDir = path.join(out, 'baseline-r1');
    const manifest = JSON.parse(readFileSync(path.join(runDir, 'manifest.json'), 'utf8')) as RunManifest;
    expect(manifest.status).toBe('interrupted');
    const events = readFileSync(path.join(runDir, 'nodes/client/events.ndjson'), 'utf8');
    expect(events).toMatch(/"event":"ack_received"/);
    expect(existsSync(path.join(runDir, 'nodes/server/stdout.log'))).toBe(true);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')) as SweepSummary;
    expect(summary.interrupted).toBe(true);
    // the second condition never started
    expect(summary.runs.map((r) => r.dir)).toEqual(['baseline-r1']);
    expect(await leftovers()).toEqual({ containers: [], networks: [] });
  });
});
