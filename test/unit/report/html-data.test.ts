import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { comparisonTable, loadSweep, percentiles, sweepRunOf, type RunManifest, type RunMetrics } from '../../../src/results/index.js';
import { ackRatioSpec, acksOverTimeSpec, cdfSpec, deliveryLatencySpec, latencyOverTimeSpec, rttSpec, spansDecades, stepLabelRows, wrapName } from '../../../src/report/charts.js';
import { reportData } from '../../../src/report/html-data.js';
import { loadReportInput } from '../../../src/report/load.js';
import { tableCells } from '../../../src/report/table.js';

// A real `acklab run` in Docker (see its README) and real loopback runs (generate.mjs).
const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/runs');
const DOCKER = path.join(FIXTURES, 'docker-sweep');
const LOOPBACK = path.join(FIXTURES, 'loopback-sweep');
const RUNS = ['baseline-r1', 'delay-50ms-r1', 'delay-200ms-jitter-50ms-r1', 'loss-10pct-r1', 'partition-mid-run-r1', 'partition-no-heal-r1'];
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

  it('has the table of the terminal report, cell for cell', async () => {
    expect(data.kind).toBe('sweep');
    expect(data.title).toBe('ack-vs-conditions');
    const sweep = await loadSweep(DOCKER);
    expect(data.tableCells).toEqual(tableCells(comparisonTable(sweep.runs.map((r) => sweepRunOf(r, sweep.dir)))));
    const row = data.tableCells.rows.find((r) => r[0] === 'delay-50ms')!;
    const head = data.tableCells.head;
    expect(row[head.indexOf('acks')]).toBe(String(metricsJson('delay-50ms-r1').peer!.acksReceived));
    expect(row[head.indexOf('rtt p50 (ms)')]).toBe(metricsJson('delay-50ms-r1').peer!.ackRttMs.p50!.toFixed(1));
    expect(row[head.indexOf('mc ack ratio (%)')]).toBe('100.0');
  });

  it('has the verdict acklab run exits with, per run and per check', () => {
    const summary = JSON.parse(readFileSync(path.join(DOCKER, 'summary.json'), 'utf8'));
    expect(data.verdict).toMatchObject({ verdict: summary.verdict, exitCode: 0, interrupted: false, checks: ['run', 'conditions', 'programs', 'total-order', 'accounted', 'mcast-delivery', 'acks'] });
    expect(data.verdict.runs.map((r) => [r.label, r.verdict])).toEqual(summary.runs.map((r: { dir: string; verdict: { verdict: string } }) => [r.dir, r.verdict.verdict]));
    expect(data.verdict.runs.find((r) => r.label === 'partition-no-heal-r1')!.checks.find((c) => c.name === 'acks')!.reason).toMatch(/accounted for by "at 6s partition/);
  });

  it.each(RUNS)('%s: acks over time end at the acks of metrics.json, RTTs and latencies give its percentiles', (name) => {
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
    // the programs stamp sends before writing and receives as read: on one host nothing is negative
    expect(run.deliveryLatencies.filter((d) => d.latencyMs < 0)).toEqual([]);
    for (const d of run.diagrams) expect(d.counts.receivedBeforeSent).toBe(0);
    // the latency-over-time chart: one point per acked update and per delivery, one cross per missing one
    expect(run.latency.points).toHaveLength(m.peer!.acksReceived + m.mcast!.delivered);
    expect(run.latency.missing.filter((x) => x.series === 'never acked')).toHaveLength(m.peer!.updatesSent - m.peer!.acksReceived);
    expect(run.latency.missing.filter((x) => x.series === 'never delivered')).toHaveLength(m.mcast!.sent * m.mcast!.nodes.length - m.mcast!.delivered);
    expect(run.diagrams.map((d) => d.kind)).toEqual(['mcast', 'peer']);
    expect(run.diagrams[0]!.counts).toMatchObject({ deliveries: m.mcast!.delivered, acks: m.mcast!.acksReceived });
    expect(run.logs.map((l) => l.node)).toEqual(['server', 'client', 'p1', 'p2', 'p3']);
    expect(run.logs[2]!.links.map((l) => l.href)).toEqual([
      `${name}/nodes/p1/stdout.log`,
      `${name}/nodes/p1/stderr.log`,
      `${name}/nodes/p1/events.ndjson`,
      `${name}/nodes/p1/files/delivered.jsonl`,
    ]);
    expect(run.logs.every((l) => l.links.every((k) => k.exists))).toBe(true);
  });

  it('the ack charts show the ratio (acked / sent) of the table, with the counts in the hover text', () => {
    const chart = ackRatioSpec(data, 'peer')!;
    const runs = values(chart.spec, 'runs');
    expect(runs.map((v) => v.run)).toEqual(RUNS);
    for (const v of runs) {
      const m = metricsJson(v.run as string).peer!;
      expect(v.ratio).toBeCloseTo(m.ackRatio! * 100, 5);
      expect(v.tip).toContain(`${m.acksReceived} of ${m.updatesSent} updates acked`);
    }
    expect(values(chart.spec, 'spread').map((v) => v.median)).toEqual(data.table.rows.map((row) => row.cells['peer.ackRatio']!.median));
    const mcast = values(ackRatioSpec(data, 'mcast')!.spec, 'runs');
    const noHeal = metricsJson('partition-no-heal-r1').mcast!;
    expect(mcast.find((v) => v.run === 'partition-no-heal-r1')!.tip).toContain(`${noHeal.acksReceived} of ${noHeal.acksExpected} ACKs received`);
  });

  it('condition names are wrapped at their dashes, never cut', () => {
    expect(wrapName('delay-200ms-jitter-50ms')).toEqual(['delay-200ms-', 'jitter-50ms']);
    expect(wrapName('baseline')).toEqual(['baseline']);
    const axis = (ackRatioSpec(data, 'peer')!.spec as unknown as { layer: { encoding: { x: { axis: Record<string, unknown> } } }[] }).layer[0]!.encoding.x.axis;
    expect(axis).toMatchObject({ labelAngle: 0, labelLimit: 0 });
    expect(axis.labelExpr).toContain('["delay-200ms-","jitter-50ms"]');
  });

  it('latency charts share one y axis, log (symlog, so 0 ms fits) when the data spans decades, linear on request', () => {
    const all = data.runs.flatMap((r) => r.deliveryLatencies.map((d) => d.latencyMs));
    expect(spansDecades(all)).toBe(true);
    const log = deliveryLatencySpec(data, 'log')!.spec as { resolve: unknown; spec: { encoding: { y: { scale: { type: string } } } } };
    expect(log.resolve).toEqual({ scale: { y: 'shared' } });
    expect(log.spec.encoding.y.scale.type).toBe('symlog');
    expect((deliveryLatencySpec(data, 'linear')!.spec as typeof log).spec.encoding.y.scale.type).toBe('linear');
    const rtt = values(rttSpec(data, 'log')!.spec, 'rtts');
    for (const r of RUNS) expect(rtt.filter((v) => v.run === r)).toHaveLength(metricsJson(r).peer!.acksReceived);
  });

  it('a CDF per condition: every ack round trip of the condition, ending at 1', () => {
    const cdf = values(cdfSpec(data, 'ack-rtt', 'log')!.spec, 'cdf');
    for (const row of data.table.rows) {
      const mine = cdf.filter((v) => v.condition === row.condition);
      expect(mine.at(-1)!.fraction).toBe(1);
      expect(mine[0]!.n).toBe(Number(data.tableCells.rows.find((r) => r[0] === row.condition)![data.tableCells.head.indexOf('acks')]));
    }
    expect(cdfSpec(data, 'delivery-latency', 'linear')).not.toBeNull();
  });

  it('latency over time: the faults shaded and marked, the never-acked updates along the top', () => {
    const run = data.runs.find((r) => r.label === 'partition-no-heal-r1')!;
    const spec = latencyOverTimeSpec(run, 'log')!.spec;
    expect(values(spec, 'faults')).toEqual([expect.objectContaining({ from: 9.534, to: 22, cls: 'partition', text: 'at 6s partition server,p1 | client,p2,p3' })]);
    expect(values(spec, 'fault-changes')).toEqual([expect.objectContaining({ from: 6, to: 9.534 })]);
    const missing = values(spec, 'missing');
    expect(missing.length).toBe(run.latency.missing.length);
    expect(missing.every((m) => (m.t as number) >= 5)).toBe(true);
  });

  it('acks over time: the partition as played, drawn inside the plot', () => {
    const run = data.runs.find((r) => r.label === 'partition-mid-run-r1')!;
    expect(run.marks.map((m) => [m.plannedMs, m.atMs, m.cls])).toEqual([
      [5000, 10597, 'partition'],
      [10000, 16198, 'heal'],
    ]);
    const spec = acksOverTimeSpec(run)!.spec as { layer: { mark: { clip?: boolean; type: string }; encoding: { x?: { scale?: { domain?: number[] } } } }[] };
    expect(values(spec, 'faults')).toEqual([expect.objectContaining({ from: 10.597, to: 10.597 })]);
    expect(values(spec, 'fault-changes').map((b) => [b.from, b.to])).toEqual([
      [5, 10.597],
      [10.597, 16.198],
    ]);
    // the lines are clipped to a fixed domain: nothing runs out of the plot
    const line = spec.layer.find((l) => l.mark.type === 'line')!;
    expect(line.mark.clip).toBe(true);
    expect(line.encoding.x!.scale!.domain).toEqual([0, 22]);
  });

  it('step labels over a time chart take rows so they never overlap, and are dropped when no row is free', () => {
    expect(stepLabelRows([{ x: 1, text: 'partition a | b' }, { x: 1.2, text: 'heal' }, { x: 9, text: 'heal' }], 500, 10)).toEqual([0, 1, 0]);
    expect(stepLabelRows([{ x: 1, text: 'aaaaaaaaaaaaaaaaaaaa' }, { x: 1, text: 'b' }], 500, 10, 1)).toEqual([0, null]);
  });
});

describe('robust to missing pieces', () => {
  it('a crashed run is kept out of the charts and says why', async () => {
    const data = await loadReportData(LOOPBACK);
    const crash = data.runs.find((r) => r.label === 'crash-r1')!;
    expect(crash.usable).toBe(false);
    expect(crash.missing.join('\n')).toMatch(/client crashed \(no summary\); see nodes\/client\/stderr\.log/);
    expect(crash.missing.join('\n')).toMatch(/left out of the comparison table/);
    expect(values(ackRatioSpec(data, 'peer')!.spec, 'runs').map((v) => v.run)).toEqual(['baseline-r1', 'baseline-r2']);
    expect(data.problems.join('\n')).toMatch(/no summary\.json in this folder .*computed from its 3 run folder\(s\)/);
    expect(data.verdict.runs.find((r) => r.label === 'crash-r1')!.verdict).toBe('fail');
    expect(data.verdict.exitCode).toBe(1);
  });

  it('a run without mcast part gets no mcast diagram and a sentence saying so', async () => {
    const dir = path.join(tmp, 'peer-only');
    cpSync(path.join(DOCKER, 'baseline-r1'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
    m.nodes = m.nodes.filter((n) => !n.name.startsWith('p'));
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    const data = await loadReportData(dir);
    expect(data.kind).toBe('run');
    const run = data.runs[0]!;
    expect(run.diagrams.map((d) => d.kind)).toEqual(['peer']);
    expect(run.missing).toContain('no mcast part in this run: no mcast space-time diagram, no delivery latency');
    expect(deliveryLatencySpec(data, 'log')).toBeNull();
    expect(ackRatioSpec(data, 'peer')).not.toBeNull();
  });

  it('a run that failed before its workload started still loads, with what is missing', async () => {
    const dir = path.join(tmp, 'failed');
    cpSync(path.join(DOCKER, 'baseline-r1'), dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as RunManifest;
    Object.assign(m, { status: 'failed', error: 'lab did not start: image missing', t0: null, nodes: [], timeline: [] });
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
    rmSync(path.join(dir, 'conditions.json'));
    const data = await loadReportData(dir);
    const run = data.runs[0]!;
    expect(run.usable).toBe(false);
    expect(data.verdict).toMatchObject({ verdict: 'invalid', exitCode: 1 });
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
