import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderChartSvg, acksPerConditionSpec } from '../../../src/report/charts.js';
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
  it('is written next to report.md and is self-contained (no script, no external reference)', async () => {
    const sweep = copyOf('docker-sweep', 'self-contained');
    const file = await writeHtmlReport(sweep);
    expect(file).toBe(path.join(sweep, 'report.html'));
    expect(existsSync(path.join(sweep, 'report.md'))).toBe(true);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(\s*['"]?(https?:)?\/\//i);
    // the only absolute URLs are SVG namespace names, never fetched
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    // every relative link points at a file of the sweep
    for (const [, href] of html.matchAll(/href="([^"#][^"]*)"/g)) expect(existsSync(path.join(sweep, decodeURIComponent(href!)))).toBe(true);
  });

  it('holds the table, four charts, a diagram and a manifest per run', async () => {
    const sweep = copyOf('docker-sweep', 'contents');
    const html = readFileSync(await writeHtmlReport(sweep), 'utf8');
    const data = reportData(await loadReportInput(sweep));
    for (const row of data.tableCells.rows) expect(html).toContain(`<tr>${row.map((c) => `<td>${c}</td>`).join('')}</tr>`);
    for (const id of ['acks-peer', 'acks-mcast', 'rtt', 'delivery-latency']) expect(html).toContain(`data-chart="${id}"`);
    expect((html.match(/data-chart="acks-time-/g) ?? []).length).toBe(3);
    expect((html.match(/<h4>Space-time diagram \(mcast\)<\/h4>/g) ?? []).length).toBe(3);
    expect((html.match(/<h4>Manifest<\/h4>/g) ?? []).length).toBe(3);
    expect(html).toContain('<code>impair * delay=50ms</code>');
    expect(html).toContain('<code>at 5s partition server,p1 | client,p2,p3</code>');
    expect(html).toContain('userspace');
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
  it('render to SVG with Vega in Node', async () => {
    const data = reportData(await loadReportInput(path.join(FIXTURES, 'docker-sweep')));
    const svg = await renderChartSvg(acksPerConditionSpec(data, 'peer')!.spec);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('partition-mid-run');
    expect(svg).toContain('role-mark');
  });
});
