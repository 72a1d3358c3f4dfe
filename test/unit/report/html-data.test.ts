import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { comparisonTable, loadSweep, percentiles, sweepRunOf, type RunManifest, type RunMetrics } from '../../../src/results/index.js';
import { acksOverTimeSpec, acksPerConditionSpec, deliveryLatencySpec, rttSpec } from '../../../src/report/charts.js';
import { partitionBands, partitionSpans, reportData } from '../../../src/report/html-data.js';
import { loadReportInput } from '../../../src/report/load.js';
import { tableCells } from '../../../src/report/table.js';

// A real `acklab run` in Docker (see its README) and real loopback runs (generate.mjs).
const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/runs');
const DOCKER = path.join(FIXTURES, 'docker-sweep');
const LOOPBACK = path.join(FIXTURES, 'loopback-sweep');
const metricsJson = (run: string): RunMetrics => JSON.parse(readFileSync(path.join(DOCKER, run, 'metrics.json'), 'utf8')) as RunMetrics;

/** The inline values of a chart's named dataset (layered or not). */
function values(spec: unknown, name: string): Record<string, unknown>[] {
  const s = spec as { data?: { name?: string; values?: unknown[] }; layer?: { data?: { name?: string; values?: unknown[] } }[] };
  const sets = [s.data, ...(s.layer ?? []).map((l) => l.data)].filter((d) => d?.name === name);
  if (sets.length === 0) throw new Error(`no dataset ${name}`);
  return sets[0]!.values as Record<string, unknown>[];
}

const loadReportData = async (dir: string) => reportData(await loadReportInput(dir));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'acklab-test-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('report data from a real Docker sweep', async () => {
  const data = await loadReportData(DOCKER);
  const runs = ['baseline-r1', 'delay-50ms-r1', 'partition-mid-run-r1'];

  it('has the table of the terminal report, cell for cell', async () => {
    expect(data.kind).toBe('sweep');
    expect(data.title).toBe('ack-vs-conditions');
    const sweep = await loadSweep(DOCKER);
    expect(data.tableCells).toEqual(tableCells(comparisonTable(sweep.runs.map((r) => sweepRunOf(r, sweep.dir)))));
    const row = data.tableCells.rows.find((r) => r[0] === 'delay-50ms')!;
    const head = data.tableCells.head;
    expect(row[head.indexOf('acks')]).toBe(String(metricsJson('delay-50ms-r1').peer!.acksReceived));
    expect(row[head.indexOf('rtt p50 (ms)')]).toBe(metricsJson('delay-50ms-r1').peer!.ackRttMs.p50!.toFixed(1));
  });

  it.each(runs)('%s: acks over time end at the acks of metrics.json, RTTs and latencies give its percentiles', (name) => {
    const run = data.runs.find((r) => r.label === name)!;
    const m = metricsJson(name);
    expect(run.usable).toBe(true);
    expect(run.metrics).toEqual(m);
    const last = (series: string) => Math.max(...run.acksOverTime.filter((p) => p.series === series).map((p) => p.cumulative));
    expect(last('peer acks')).toBe(m.peer!.acksReceived);
    expect(last('mcast acks')).toBe(m.mcast!.acksReceived);
    expect(run.rtts).toHaveLength(m.peer!.acksReceived);
    expect(percentiles(run.rtts)).toEqual(m.peer!.ackRttMs);
    expect(percentiles(run.deliveryLatencies.map((d) => d.latencyMs))).toEqual(m.mcast!.deliveryLatencyMs);
    for (const node of m.mcast!.nodes) {
      expect(percentiles(run.deliveryLatencies.filter((d) => d.node === node.node).map((d) => d.latencyMs))).toEqual(node.deliveryLatencyMs);
    }
    expect(run.spaceTime!.counts).toMatchObject({ deliveries: m.mcast!.delivered, acks: m.mcast!.acksReceived });
    expect(run.logs.map((l) => l.node)).toEqual(['server', 'client', 'p1', 'p2', 'p3']);
    expect(run.logs[2]!.links.map((l) => l.href)).toEqual([
      `${name}/nodes/p1/stdout.log`,
      `${name}/nodes/p1/stderr.log`,
      `${name}/nodes/p1/events.ndjson`,
      `${name}/nodes/p1/files/delivered.jsonl`,
    ]);
    expect(run.logs.every((l) => l.links.every((k) => k.exists))).toBe(true);
  });

  it('the acks chart draws the spread of the table and one dot per run, from metrics.json', () => {
    const chart = acksPerConditionSpec(data, 'peer')!;
    expect(values(chart.spec, 'runs')).toEqual(runs.map((r) => ({ condition: metricsJson(r).condition, run: r, acks: metricsJson(r).peer!.acksReceived })));
    expect(values(chart.spec, 'spread')).toEqual(
      data.table.rows.map((row) => ({ condition: row.condition, ...row.cells['peer.acksReceived'] })),
    );
    const mcast = acksPerConditionSpec(data, 'mcast')!;
    expect(values(mcast.spec, 'runs').map((v) => v.acks)).toEqual(runs.map((r) => metricsJson(r).mcast!.acksReceived));
  });

  it('the RTT and delivery-latency charts hold every ack and delivery of the runs', () => {
    const rtt = values(rttSpec(data)!.spec, 'rtts');
    for (const r of runs) expect(rtt.filter((v) => v.run === r)).toHaveLength(metricsJson(r).peer!.acksReceived);
    const lat = values(deliveryLatencySpec(data)!.spec, 'latencies');
    for (const r of runs) expect(lat.filter((v) => v.run === r)).toHaveLength(metricsJson(r).mcast!.delivered);
  });

  it('marks the partition and the heal as played, and shades the partition in between', () => {
    const run = data.runs.find((r) => r.label === 'partition-mid-run-r1')!;
    expect(run.marks).toEqual([
      { atMs: 5000, plannedMs: 5000, text: 'at 5s partition server,p1 | client,p2,p3', kind: 'partition', applied: true },
      { atMs: 11001, plannedMs: 11000, text: 'at 11s heal', kind: 'heal', applied: true },
    ]);
    expect(run.partitions).toEqual([{ text: 'at 5s partition server,p1 | client,p2,p3', plannedMs: 5000, inForceMs: 5000, healPlannedMs: 11000, healedMs: 11001 }]);
    const spec = acksOverTimeSpec(run)!.spec;
    expect(values(spec, 'partitions')).toEqual([{ from: 5, to: 11, text: 'at 5s partition server,p1 | client,p2,p3', changing: false }]);
    expect(values(spec, 'partition-changes')).toEqual([{ from: 11, to: 11.001, text: 'at 5s partition server,p1 | client,p2,p3 (being healed)', changing: true }]);
    expect(values(spec, 'marks').map((m) => m.t)).toEqual([5, 11.001]);
    expect(run.conditions).toHaveLength(2);
  });
});

describe('partition spans', () => {
  it('shade the time the rules were being changed apart from the time they were in force', () => {
    expect(partitionBands({ text: 'p', plannedMs: 5000, inForceMs: 9764, healPlannedMs: 11000, healedMs: 15465 })).toEqual([
      { fromMs: 5000, toMs: 9764, text: 'p (being applied)', changing: true },
      { fromMs: 9764, toMs: 11000, text: 'p', changing: false },
      { fromMs: 11000, toMs: 15465, text: 'p (being healed)', changing: true },
    ]);
    // in force only after the heal was due: no negative band
    expect(partitionBands({ text: 'p', plannedMs: 5000, inForceMs: 12000, healPlannedMs: 11000, healedMs: 13000 })).toEqual([
      { fromMs: 5000, toMs: 12000, text: 'p (being applied)', changing: true },
      { fromMs: 12000, toMs: 12000, text: 'p', changing: false },
      { fromMs: 12000, toMs: 13000, text: 'p (being healed)', changing: true },
    ]);
    expect(partitionBands({ text: 'p', plannedMs: 1, inForceMs: 1, healPlannedMs: null, healedMs: null })).toEqual([{ fromMs: 1, toMs: null, text: 'p', changing: false }]);
  });

  const step = (atMs: number, text: string, action: unknown, ok = true) =>
    ({ atMs, appliedAtMs: atMs + 1, text, step: { atMs, text, action }, ok }) as RunManifest['timeline'][number];
  const manifest = (timeline: RunManifest['timeline']) => ({ timeline }) as RunManifest;

  it('ends at a heal of a node in the partition, stays open without one, ignores failed steps', () => {
    const part = { kind: 'partition', partition: { kind: 'groups', groups: [['n1'], ['n2', 'n3']] } };
    expect(partitionSpans(manifest([step(1000, 'p', part), step(2000, 'heal n9', { kind: 'heal', node: 'n9' }), step(3000, 'heal n2', { kind: 'heal', node: 'n2' })]))).toEqual([
      { text: 'p', plannedMs: 1000, inForceMs: 1001, healPlannedMs: 3000, healedMs: 3001 },
    ]);
    expect(partitionSpans(manifest([step(1000, 'p', part)]))).toEqual([{ text: 'p', plannedMs: 1000, inForceMs: 1001, healPlannedMs: null, healedMs: null }]);
    expect(partitionSpans(manifest([step(1000, 'p', part, false), step(2000, 'heal', { kind: 'heal' })]))).toEqual([]);
  });
});

describe('robust to missing pieces', () => {
  it('a crashed run is kept out of the charts and says why', async () => {
    const data = await loadReportData(LOOPBACK);
    const crash = data.runs.find((r) => r.label === 'crash-r1')!;
    expect(crash.usable).toBe(false);
    expect(crash.missing.join('\n')).toMatch(/client crashed \(no summary\); see nodes\/client\/stderr\.log/);
    expect(crash.missing.join('\n')).toMatch(/left out of the comparison table/);
    expect(values(acksPerConditionSpec(data, 'peer')!.spec, 'runs').map((v) => v.run)).toEqual(['baseline-r1', 'baseline-r2']);
    expect(data.problems.join('\n')).toMatch(/no summary\.json in this folder .*computed from its 3 run folder\(s\)/);
  });

  it('a run without mcast part gets no diagram and a sentence saying so', async () => {
    const dir = path.join(tmp, 'peer-only');
    cpSync(path.join(DOCKER, 'baseline-r1'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
    m.nodes = m.nodes.filter((n) => !n.name.startsWith('p'));
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    const data = await loadReportData(dir);
    expect(data.kind).toBe('run');
    const run = data.runs[0]!;
    expect(run.spaceTime).toBeNull();
    expect(run.missing).toContain('no mcast part in this run: no space-time diagram, no delivery latency');
    expect(deliveryLatencySpec(data)).toBeNull();
    expect(acksPerConditionSpec(data, 'peer')).not.toBeNull();
  });

  it('a run that failed before its workload started still loads, with what is missing', async () => {
    const dir = path.join(tmp, 'failed');
    cpSync(path.join(DOCKER, 'baseline-r1'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
    Object.assign(m, { status: 'failed', error: 'lab did not start: image missing', t0: null, nodes: [], timeline: [] });
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    rmSync(path.join(dir, 'conditions.json'));
    const run = (await loadReportData(dir)).runs[0]!;
    expect(run.usable).toBe(false);
    expect(run.missing).toEqual(
      expect.arrayContaining([
        'the run failed: lab did not start: image missing',
        'no t0 and no events: no time-based chart or diagram',
        'no peer client in this run: no ack count, no ack round trips',
        'conditions.json was not written: the conditions in force were not read back',
      ]),
    );
  });

  it('a folder that is neither a run nor a sweep is refused with what it holds', async () => {
    const dir = path.join(tmp, 'empty');
    cpSync(path.join(DOCKER, 'README.md'), path.join(dir, 'README.md'));
    await expect(loadReportData(dir)).rejects.toThrow(/neither a run folder \(no manifest\.json\) nor a sweep folder.*README\.md/);
  });

  it('an unreadable run inside a sweep is reported, the others still are', async () => {
    const dir = path.join(tmp, 'sweep-bad');
    cpSync(LOOPBACK, dir, { recursive: true });
    writeFileSync(path.join(dir, 'baseline-r2', 'manifest.json'), '{ not json');
    const data = await loadReportData(dir);
    expect(data.problems.join('\n')).toMatch(/baseline-r2: .*manifest\.json is not valid JSON/);
    expect(data.runs.map((r) => r.label)).toEqual(['baseline-r1', 'crash-r1']);
    expect(data.tableCells.rows.map((r) => [r[0], r[1]])).toEqual([['baseline', '1'], ['crash', '0/1 (1 crashed/failed)']]);
  });
});
