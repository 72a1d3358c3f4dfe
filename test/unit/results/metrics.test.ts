import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildSummary,
  comparisonTable,
  computeRunMetrics,
  conditionCdfs,
  ecdf,
  loadRun,
  loadSweep,
  orderCheck,
  parseEvents,
  percentiles,
  programRole,
  summaryCsv,
  sweepRunOf,
} from '../../../src/results/index.js';
import { formatSpread, renderTerminalTable } from '../../../src/report/table.js';
import { renderMarkdownReport } from '../../../src/report/markdown.js';
import { parseDelivered } from '../../../src/programs/mcast/delivered.js';

// Real output of acklab-peer and acklab-mcast on loopback (test/fixtures/runs/generate.mjs).
const SWEEP = path.resolve(import.meta.dirname, '../../fixtures/runs/loopback-sweep');
const lines = (run: string, node: string, file = 'events.ndjson') =>
  readFileSync(path.join(SWEEP, run, 'nodes', node, file), 'utf8').split('\n').filter((l) => l.trim() !== '');
const countEvents = (run: string, node: string, name: string) => lines(run, node).filter((l) => JSON.parse(l).event === name).length;

describe('metrics from a run folder', () => {
  it('peer: counts, ratio and round trips of a completed client', async () => {
    const m = await computeRunMetrics(path.join(SWEEP, 'baseline-r1'));
    expect(m.crashed).toBe(false);
    expect(m.peer).toMatchObject({ updatesSent: 15, acksReceived: 15, ackRatio: 1, connectionsLost: 0 });
    expect(m.peer!.clients[0]).toMatchObject({ node: 'client', status: 'completed', exitCode: 0, connectionsMade: 1 });
    const rtts = lines('baseline-r1', 'client').map((l) => JSON.parse(l)).filter((e) => e.event === 'ack_received').map((e) => e.rttMs as number);
    expect(m.peer!.ackRttMs.max).toBe(Math.max(...rtts));
    expect(m.peer!.ackRttMs.p50).toBeGreaterThanOrEqual(Math.min(...rtts));
    expect(m.peer!.ackRttMs.p50).toBeLessThanOrEqual(m.peer!.ackRttMs.p99!);
  });

  it('mcast: per node sent/delivered/acks, latency and the order check', async () => {
    const m = await computeRunMetrics(path.join(SWEEP, 'baseline-r1'));
    expect(m.mcast).toMatchObject({ sent: 15, delivered: 45, undelivered: 0, order: { ok: true, delivered: 15, complete: true } });
    for (const node of m.mcast!.nodes) {
      expect(node).toMatchObject({ status: 'completed', sent: 5, delivered: 15, undelivered: 0 });
      expect(node.acksReceived).toBe(countEvents('baseline-r1', node.node, 'mcast_ack'));
      expect(node.deliveryLatencyMs.p50).toBeGreaterThanOrEqual(0);
    }
    expect(m.mcast!.acksReceived).toBe(['p1', 'p2', 'p3'].reduce((a, n) => a + countEvents('baseline-r1', n, 'mcast_ack'), 0));
  });

  it('a client killed mid-run is reported crashed, with what it did, not as zero acks', async () => {
    const m = await computeRunMetrics(path.join(SWEEP, 'crash-r1'));
    expect(m.crashed).toBe(true);
    const client = m.peer!.clients[0]!;
    expect(client).toMatchObject({ status: 'crashed', exitCode: 137, updatesSent: countEvents('crash-r1', 'client', 'update_sent') });
    expect(client.updatesSent).toBeGreaterThan(0);
    expect(m.problems).toContain('client crashed (no summary); see nodes/client/stderr.log');
  });
});

describe('series for the charts', () => {
  it('each acked update with its send time; each update never acked', async () => {
    const run = await loadRun(path.join(SWEEP, 'baseline-r1'));
    const sent = lines('baseline-r1', 'client').map((l) => JSON.parse(l)).filter((e) => e.event === 'update_sent');
    expect(run.series.rtts).toHaveLength(15);
    for (const r of run.series.rtts) {
      expect(r.sentTs).toBe(sent.find((e) => e.conn === r.conn && e.seq === r.seq).ts);
      expect(r.ts).toBeGreaterThanOrEqual(r.sentTs);
    }
    expect(run.series.unacked).toEqual([]);
    const crash = await loadRun(path.join(SWEEP, 'crash-r1'));
    const m = crash.metrics.peer!.clients[0]!;
    expect(crash.series.unacked).toHaveLength(m.updatesSent - crash.series.rtts.length);
  });

  it('each mcast delivery with its send time; each message a member never delivered', async () => {
    const run = await loadRun(path.join(SWEEP, 'baseline-r1'));
    expect(run.series.deliveries).toHaveLength(45);
    for (const d of run.series.deliveries) expect(d.latencyMs).toBe(d.ts - d.sentTs);
    expect(run.series.undelivered).toEqual([]);
    expect(run.metrics.mcast).toMatchObject({ acksExpected: 15 * 2 * 2, ackRatio: 1 });
  });

  it('empirical CDFs: one step per distinct value, thinned for long inputs, always ending at 1', () => {
    expect(ecdf([3, 1, 2, 2])).toEqual([
      { value: 1, fraction: 0.25 },
      { value: 2, fraction: 0.75 },
      { value: 3, fraction: 1 },
    ]);
    const long = ecdf(Array.from({ length: 5000 }, (_, i) => i), 100);
    expect(long).toHaveLength(100);
    expect(long.at(-1)).toEqual({ value: 4999, fraction: 1 });
    expect(long[0]).toEqual({ value: 0, fraction: 0.0002 });
  });

  it('latency CDFs per condition pool the usable runs of the condition', async () => {
    const sweep = await loadSweep(SWEEP);
    const cdfs = conditionCdfs(sweep.runs.map((r) => ({ run: sweepRunOf(r, sweep.dir), series: r.series })));
    // the crashed run is left out, as in the table
    expect(cdfs.map((c) => [c.condition, c.metric, c.runs, c.n])).toEqual([
      ['baseline', 'ack-rtt', 2, 30],
      ['baseline', 'delivery-latency', 2, 90],
    ]);
  });
});

describe('order check (A\'s checker)', () => {
  const seq = parseDelivered(lines('baseline-r1', 'p1', 'files/delivered.jsonl').join('\n'));
  it('passes identical sequences; a shortfall is an agreeing prefix, not a failure', () => {
    expect(orderCheck([{ name: 'a', records: seq }, { name: 'b', records: seq }])).toEqual({ ok: true, delivered: 15, complete: true });
    expect(orderCheck([{ name: 'a', records: seq }, { name: 'b', records: seq.slice(0, 10) }])).toEqual({ ok: true, delivered: 10, complete: false });
  });
  it('names the first divergence', () => {
    const swapped = [seq[1]!, seq[0]!, ...seq.slice(2)];
    const result = orderCheck([{ name: 'a', records: seq }, { name: 'b', records: swapped }]);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.firstDivergence).toMatch(/^first divergence at position 1: a has .* but b has/);
  });
});

describe('helpers', () => {
  it('parses events, counting lines that are not events', () => {
    expect(parseEvents('{"ts":1,"event":"connected"}\nnot json\n{"x":1}\n\n')).toMatchObject({ events: [{ ts: 1, event: 'connected' }], badLines: 2 });
  });
  it.each([
    [['acklab-peer', 'client', 'server:8888'], 'peer-client'],
    [['acklab-peer', 'server', '0.0.0.0:8888'], 'peer-server'],
    [['sh', '-c', 'sleep 1; exec "$@"', 'sh', 'acklab-mcast', '--id', '1'], 'mcast'],
    [['acklab-echo'], 'echo'],
    [['bash', '-c', 'true'], 'other'],
  ])('program role of %j is %s', (argv, role) => expect(programRole(argv)).toBe(role));
  it('percentiles are null for no values', () => {
    expect(percentiles([])).toEqual({ p50: null, p95: null, p99: null, max: null });
    expect(percentiles([3, 1, 2])).toMatchObject({ p50: 2, max: 3 });
  });
});

describe('comparison table and report', () => {
  it('one row per condition, spread over repetitions, crashed runs left out of the numbers', async () => {
    const sweep = await loadSweep(SWEEP);
    const runs = sweep.runs.map((r) => sweepRunOf(r, sweep.dir));
    expect(runs.map((r) => r.dir)).toEqual(['baseline-r1', 'baseline-r2', 'crash-r1']);
    const table = comparisonTable(runs);
    expect(table.rows.map((r) => [r.condition, r.runs, r.ok, r.crashed])).toEqual([
      ['baseline', 2, 2, 0],
      ['crash', 1, 0, 1],
    ]);
    const baseline = table.rows[0]!;
    expect(baseline.cells['peer.acksReceived']).toEqual({ n: 2, min: 15, median: 15, max: 15 });
    expect(baseline.cells['mcast.delivered']).toEqual({ n: 2, min: 45, median: 45, max: 45 });
    expect(table.rows[1]!.cells['peer.acksReceived']).toEqual({ n: 0, min: null, median: null, max: null });
    expect(baseline.order).toBe('pass');
    const rtt = runs.map((r) => r.metrics!.peer!.ackRttMs.p50!).slice(0, 2).sort((a, b) => a - b);
    expect(baseline.cells['peer.ackRttMs.p50']).toMatchObject({ min: rtt[0], max: rtt[1] });

    const text = renderTerminalTable(table);
    expect(text).toMatch(/condition.*runs.*updates.*acks/s);
    expect(text).toMatch(/crash .*0\/1 \(1 crashed\/failed\)/s);
    // One table per program, so it fits a terminal: no line carries both programs' columns.
    expect(text).toContain('peer (client/server');
    expect(text).toContain('mcast (multicast & ACK');
    expect(text.split('\n').filter((l) => l.includes('updates') && l.includes('mc sent'))).toEqual([]);
    expect(text.split('\n').find((l) => l.includes('mc sent'))).toMatch(/order/);

    const summary = buildSummary(
      { experiment: 'loopback', file: 'x.yaml', seed: 1, repetitions: 2, startedAt: '2026-01-01T00:00:00Z', endedAt: '2026-01-01T00:01:00Z', interrupted: false },
      runs,
    );
    const md = renderMarkdownReport(summary);
    expect(md).toContain('| condition | runs | updates | acks | ack ratio (%) |');
    expect(md).toMatch(/\| baseline \| 2 \| 15 \| 15 \| 100\.0 \|/);
    expect(md).toContain('[crash-r1](crash-r1/manifest.json)');
    // the verdict acklab run exits with, and per run what did not pass
    expect(md).toContain('**Verdict: FAIL** — `acklab run` exits 1.');
    expect(md).toMatch(/\| \[crash-r1\]\(crash-r1\/manifest\.json\) \| ok, crashed \| fail; programs fail: client crashed/);

    const csv = summaryCsv(runs).split('\n');
    expect(csv[0]).toMatch(/^run,condition,repetition,status,verdict,crashed,peer_updates_sent,peer_acks_received/);
    expect(csv[1]).toMatch(/^baseline-r1,baseline,1,ok,pass,false,15,15,1,/);
    expect(csv[3]).toMatch(/^crash-r1,crash,1,ok,fail,true,\d+,/);
  });

  it('formats a spread as min / median / max', () => {
    expect(formatSpread({ n: 3, min: 1, median: 2, max: 5 }, '')).toBe('1 / 2 / 5');
    expect(formatSpread({ n: 1, min: 12.345, median: 12.345, max: 12.345 }, 'ms')).toBe('12.3');
    expect(formatSpread({ n: 0, min: null, median: null, max: null }, '')).toBe('–');
  });
});

describe('line progress (not a TTY, or CI)', () => {
  it('writes one line per event with the sweep time', async () => {
    const { LineProgress, secs } = await import('../../../src/experiment/progress.js');
    let now = 1_000;
    const lines: string[] = [];
    const p = new LineProgress({ total: 2, parallel: 1, expectedRunMs: 10_000, clock: () => now, write: (l) => lines.push(l) });
    p.runStarted({ dir: 'baseline-r1', index: 0 });
    now += 65_000;
    p.runFinished({ dir: 'baseline-r1', index: 0 }, 'ok', 65_000);
    expect(lines).toEqual(['[   0s] run 1/2 baseline-r1: started', '[1m05s] run 1/2 baseline-r1: ok in 1m05s (1/2 done)']);
    expect(secs(999)).toBe('1s');
  });
});
