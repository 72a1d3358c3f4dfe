import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunManifest } from '../../../src/results/index.js';
import { renderChartSvg, ackRatioSpec } from '../../../src/report/charts.js';
import { reportData } from '../../../src/report/html-data.js';
import { loadReportInput } from '../../../src/report/load.js';
import { writeReports } from '../../../src/report/write.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/runs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'acklab-test-report-html-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fresh copy of a fixture sweep, so no test depends on what another one wrote. */
function copyOf(fixture: string, name: string): string {
  const dir = path.join(tmp, name);
  cpSync(path.join(FIXTURES, fixture), dir, { recursive: true });
  return dir;
}

async function writeHtmlReport(dir: string): Promise<string> {
  return (await writeReports(await loadReportInput(dir))).html;
}

describe('report.html', () => {
  it('is written next to report.md and is self-contained: one inline script, no external reference', async () => {
    const sweep = copyOf('docker-sweep', 'self-contained');
    const file = await writeHtmlReport(sweep);
    expect(file).toBe(path.join(sweep, 'report.html'));
    expect(existsSync(path.join(sweep, 'report.md'))).toBe(true);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<link|<img|<iframe|<object|<embed|@import|url\(\s*['"]?(https?:)?\/\/|\ssrc\s*=|fetch\(|XMLHttpRequest|import\(/i);
    // scripts: the diagrams' data (JSON, inert) and one inline program
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]!.trim());
    expect(scripts.filter((a) => a === '')).toHaveLength(1);
    expect(scripts.filter((a) => a !== '').every((a) => a === 'type="application/json" class="st-data"')).toBe(true);
    // the only absolute URLs are SVG namespace names, never fetched
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)`\\]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    // every relative link points at a file of the sweep
    for (const [, href] of html.matchAll(/href="([^"#][^"]*)"/g)) expect(existsSync(path.join(sweep, decodeURIComponent(href!)))).toBe(true);
  });

  it('holds the verdict, the table, the charts, and per run its charts, two diagrams and its manifest', async () => {
    const sweep = copyOf('docker-sweep', 'contents');
    const html = readFileSync(await writeHtmlReport(sweep), 'utf8');
    const data = reportData(await loadReportInput(sweep));
    expect(html).toMatch(/<section id="verdict" class="verdict verdict-pass" data-verdict="pass">/);
    expect(html).toContain('<code>acklab run</code> exits 0');
    for (const row of data.tableCells.rows) expect(html).toContain(`<td>${row[0]}</td>`);
    for (const id of ['acks-peer', 'acks-mcast', 'rtt', 'cdf-ack-rtt', 'delivery-latency', 'cdf-delivery-latency']) expect(html).toContain(`data-chart="${id}"`);
    // latency charts come in both scales, with a switch
    expect(html).toContain('data-chart="delivery-latency" data-variant="log"');
    expect(html).toContain('data-chart="delivery-latency" data-variant="linear"');
    expect((html.match(/data-chart="acks-time-/g) ?? []).length).toBe(6);
    expect((html.match(/data-chart="latency-time-/g) ?? []).length).toBe(6);
    expect((html.match(/<div class="st" id="[^"]*-mcast" data-kind="mcast">/g) ?? []).length).toBe(6);
    expect((html.match(/<div class="st" id="[^"]*-peer" data-kind="peer">/g) ?? []).length).toBe(6);
    expect((html.match(/<h4>Manifest<\/h4>/g) ?? []).length).toBe(6);
    expect(html).toContain('<code>impair * delay=50ms</code>');
    expect(html).toContain('<code>at 5s partition server,p1 | client,p2,p3</code>');
    expect(html).toContain('userspace');
    // no stale warning: these runs have no negative latency and no upward arrow
    expect(html).not.toMatch(/negative|point upward/);
    // the embedded diagram data round-trips
    const json = /<script type="application\/json" class="st-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual(data.runs[0]!.diagrams[0]!.data);
  });

  it('the verdict banner lists every check that did not pass, with its reason', async () => {
    const sweep = copyOf('docker-sweep', 'verdicts');
    // one run lost a condition on the way (invalid), one delivered out of order (fail)
    const mf = path.join(sweep, 'loss-10pct-r1', 'manifest.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as RunManifest;
    writeFileSync(mf, JSON.stringify({ ...m, status: 'invalid', invalid: [{ atMs: 7000, reason: 'the helper of p1 died' }] }));
    const delivered = path.join(sweep, 'baseline-r1', 'nodes', 'p2', 'files', 'delivered.jsonl');
    const lines = readFileSync(delivered, 'utf8').trim().split('\n');
    [lines[0], lines[1]] = [lines[1]!, lines[0]!];
    writeFileSync(delivered, `${lines.join('\n')}\n`);
    const html = readFileSync(await writeHtmlReport(sweep), 'utf8');
    expect(html).toMatch(/<section id="verdict" class="verdict verdict-invalid"/);
    expect(html).toContain('<code>acklab run</code> exits 1 (2 of 6 run(s) did not pass)');
    expect(html).toMatch(/<li><span class="v v-invalid">invalid<\/span> <b>loss-10pct-r1<\/b> · conditions: at \+7\.00s the helper of p1 died<\/li>/);
    expect(html).toMatch(/<li><span class="v v-fail">fail<\/span> <b>baseline-r1<\/b> · total-order: /);
  });

  it('says what is missing for a crashed run instead of drawing zeros', async () => {
    const dir = copyOf('loopback-sweep', 'loopback');
    const html = readFileSync(await writeHtmlReport(dir), 'utf8');
    expect(html).toContain('<p class="missing">client crashed (no summary); see nodes/client/stderr.log</p>');
    expect(html).toMatch(/crash-r1 <small class="status-bad">ok, crashed<\/small>/);
    expect(html).toContain('no summary.json in this folder');
  });
});

describe('charts', () => {
  it('render to SVG with Vega in Node, with hover text as <title>', async () => {
    const data = reportData(await loadReportInput(path.join(FIXTURES, 'docker-sweep')));
    const svg = await renderChartSvg(ackRatioSpec(data, 'peer')!.spec);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('partition-');
    expect(svg).toContain('role-mark');
    expect(svg).toMatch(/<title>partition-no-heal-r1: \d+ of \d+ updates acked \([\d.]+ %\)<\/title>/);
    expect(svg).not.toMatch(/\d\.\d{3,}/);
  });
});
