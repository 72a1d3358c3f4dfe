/**
 * report.html: one self-contained file (inline CSS, inline SVG, no script, no network) next to
 * report.md — the comparison table, the charts, and per run its manifest, timeline, conditions,
 * log links, acks over time and the space-time diagram of its mcast part.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatDuration } from '../common/index.js';
import { describeAction } from '../conditions/index.js';
import { acksOverTimeSpec, acksPerConditionSpec, deliveryLatencySpec, renderChartSvg, rttSpec, type ChartSpec } from './charts.js';
import { partitionBands, type ReportData, type RunReport } from './html-data.js';
import { escapeXml, renderSpaceTimeSvg } from './space-time.js';
import { pairsCells, pairsWorthShowing } from './pairs.js';
import { pairRows, type SweepRun } from '../results/index.js';

export const REPORT_HTML = 'report.html';

/** 40 pages of 140 rows ≈ 3 nodes × 450 messages; beyond that the file would grow past ~10 MB per run. */
const MAX_DIAGRAM_PAGES = 40;

const esc = escapeXml;

const STYLE = `
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.5em; }
table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: right; vertical-align: top; }
th:first-child, td:first-child, table.kv th, table.kv td, table.left td, table.left th { text-align: left; }
table.kv th { background: #f5f5f5; font-weight: normal; color: #555; }
thead th { background: #f0f0f0; }
.missing { color: #8a5a00; background: #fff6e0; border-left: 4px solid #e0a000; padding: .3em .6em; margin: .3em 0; }
.problem { color: #a00; }
.status-ok { color: #2a7d2a; font-weight: bold; } .status-bad { color: #b00; font-weight: bold; }
figure.chart { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top; }
figure.chart svg { display: block; }
.run { border: 1px solid #ddd; border-radius: 6px; padding: 0 1em 1em; margin: 1em 0; }
.legend span { margin-right: 1.2em; white-space: nowrap; }
.legend svg { vertical-align: middle; }
.st-page summary { cursor: pointer; color: #444; margin: .3em 0; }
.st-scroll { overflow-x: auto; }
.ack-toggle:not(:checked) ~ .st-pages .arrow.ack { display: none; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: .8em; max-height: 30em; }
code { font-size: .9em; }
nav ul { columns: 3; }
`;

function table(head: string[], rows: string[][], cls = ''): string {
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function kv(rows: [string, string][]): string {
  return `<table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

const missingList = (items: string[]) => items.map((m) => `<p class="missing">${esc(m)}</p>`).join('\n');
const anchor = (run: RunReport) => `run-${run.label.replace(/[^A-Za-z0-9_-]/g, '_')}`;

async function chartFigure(chart: ChartSpec): Promise<string> {
  const svg = await renderChartSvg(chart.spec);
  return `<figure class="chart" id="chart-${esc(chart.id)}" data-chart="${esc(chart.id)}">${svg}</figure>`;
}

function manifestSection(run: RunReport): string {
  const m = run.manifest!;
  const topo = m.experiment.topology.kind === 'file' ? m.experiment.topology.file : 'inline';
  const rows: [string, string][] = [
    ['experiment', `${esc(m.experiment.name)} <code>${esc(m.experiment.file)}</code>`],
    ['condition', esc(m.condition.name)],
    ['conditions applied at start', m.condition.actions.length ? m.condition.actions.map((a) => `<code>${esc(describeAction(a))}</code>`).join('<br>') : 'none (baseline)'],
    ['repetition', String(m.repetition)],
    ['seed', String(m.seed)],
    ['topology', `${esc(topo)}${m.topology ? '' : ' (resolved topology not recorded)'}`],
    ['impairment backend', m.backend ? esc(m.backend) : 'none used'],
    ['images', Object.entries(m.images).map(([k, v]) => `${esc(k)}: <code>${esc(v)}</code>`).join('<br>') || '–'],
    ['versions', `acklab ${esc(m.versions.acklab)}, node ${esc(m.versions.node)}, docker ${esc(m.versions.docker ?? '–')}`],
    ['host', `${esc(m.host.hostname)} (${esc(m.host.platform)} ${esc(m.host.release)}, ${esc(m.host.arch)}, ${m.host.cpus} CPUs, ${Math.round(m.host.memoryBytes / 2 ** 30)} GiB)`],
    ['git commit', m.gitCommit ? `<code>${esc(m.gitCommit)}</code>` : '–'],
    ['status', `<span class="${m.status === 'ok' ? 'status-ok' : 'status-bad'}">${esc(m.status)}</span>${m.error ? ` — ${esc(m.error)}` : ''}`],
    ['started / ended', `${esc(m.startedAt)} / ${esc(m.endedAt)}`],
    ['t0', run.t0 === null ? 'unknown' : `${new Date(run.t0).toISOString()}${run.t0Source === 'first event' ? ' (first event; not in manifest)' : ''}`],
  ];
  const timeline = m.timeline.length
    ? table(
        ['planned', 'applied', 'step', 'result'],
        m.timeline.map((t) => [
          `+${formatDuration(t.atMs)}`,
          t.appliedAtMs === null ? '–' : `+${formatDuration(Math.round(t.appliedAtMs))}`,
          `<code>${esc(t.text)}</code>`,
          t.ok ? 'ok' : `<span class="problem">failed${t.error ? `: ${esc(t.error)}` : ''}</span>`,
        ]),
        'left',
      )
    : '<p>No fault timeline in this run.</p>';
  const conditions = run.conditions
    ? `<details><summary>conditions in force, read back from the kernel (${run.conditions.length} snapshot${run.conditions.length === 1 ? '' : 's'})</summary>${
        run.conditions.length
          ? run.conditions.map((c) => `<h4>${esc(c.label)} (+${formatDuration(Math.round(c.atMs))})${c.error ? ` <span class="problem">${esc(c.error)}</span>` : ''}</h4><pre>${esc(JSON.stringify(c.state, null, 2))}</pre>`).join('')
          : '<p>none recorded (no condition needed the impairment layer)</p>'
      }</details>`
    : '';
  const logs = table(
    ['node', 'kind', 'program', 'exit', 'logs'],
    run.logs.map((n) => [
      esc(n.node),
      esc(n.kind),
      esc(n.role),
      n.exitCode === null ? 'running' : String(n.exitCode),
      n.links.map((l) => (l.exists ? `<a href="${esc(l.href)}">${esc(l.label)}</a>` : `<span class="problem">${esc(l.label)} (missing)</span>`)).join(' · '),
    ]),
    'left',
  );
  const topology = m.topology ? `<details><summary>resolved topology</summary><pre>${esc(JSON.stringify(m.topology, null, 2))}</pre></details>` : '';
  return `<h4>Manifest</h4>${kv(rows)}<h4>Fault timeline</h4>${timeline}${conditions}${topology}<h4>Nodes and logs</h4>${logs}`;
}

/** Peer pairs, both sides' counts and why they differ (src/report/pairs.ts); nothing when there is nothing to say. */
function pairsSection(data: ReportData): string {
  const runs: SweepRun[] = data.runs.map((r) => ({ dir: r.dir, condition: r.condition, repetition: r.repetition, status: r.status as SweepRun['status'], metrics: r.metrics }));
  if (!pairsWorthShowing(pairRows(runs))) return '';
  const { head, rows } = pairsCells(runs);
  return `<h3 id="pairs">Peer pairs: what each side counted</h3>
<p>Each client with its server, acklab's programs or the seed's (Twisted). “server got (reads)”: the &lt;update&gt;s that reached the server, and in how many reads (the seed's server acks each read once); “client counted”: what the client reports as acks (the seed's client counts every read, its greeting too).</p>
<div id="pairs-table">${table([...head, 'why'], rows.map((r) => [...r.cells.map(esc), `<span style="text-align:left;display:block">${r.why.map(esc).join('<br>')}</span>`]))}</div>`;
}

function legend(): string {
  const line = (color: string, dash = '', w = 1.6) => `<svg width="28" height="10"><line x1="2" y1="5" x2="26" y2="5" stroke="${color}" stroke-width="${w}"${dash ? ` stroke-dasharray="${dash}"` : ''}/></svg>`;
  return `<p class="legend">
<span>${line('#4c78a8')} message (one colour per sender)</span>
<span>${line('#8c8c8c', '', 0.8)} ACK</span>
<span>${line('#d62728', '3 2', 1.4)} never received</span>
<span><svg width="10" height="10"><circle cx="5" cy="5" r="3" fill="white" stroke="#4c78a8" stroke-width="1.5"/></svg> multicast (m<i>sender.seq</i>)</span>
<span><svg width="10" height="10"><circle cx="5" cy="5" r="3" fill="#4c78a8"/></svg> delivered (✓<i>sender.seq</i> #position)</span>
<span><svg width="18" height="10"><rect width="18" height="10" fill="#d62728" fill-opacity="0.15"/></svg> partition in force</span>
<span><svg width="18" height="10"><rect x="0.5" y="0.5" width="17" height="9" fill="#d62728" fill-opacity="0.05" stroke="#d62728" stroke-opacity="0.5" stroke-dasharray="2 2"/></svg> partition being applied or healed (between the step's due time and the time it was in force)</span>
</p>
<p><small>Rows are logical (a later millisecond is always below an earlier one, and a receive is below its send unless it was logged at an earlier millisecond); the left column is the real time since t0.
An ACK's send time is the acker's <code>mcast_received</code> event: acklab-mcast broadcasts the ACK in the same handler and logs no separate event for it.
Hover an arrow or a dot for its times.</small></p>`;
}

function spaceTimeSection(run: RunReport): string {
  if (!run.spaceTime) return '';
  const model = run.spaceTime;
  if (model.events.length === 0) return `<h4>Space-time diagram</h4>${missingList(['the mcast nodes logged no message events: nothing to draw'])}`;
  if (run.t0 === null) return `<h4>Space-time diagram</h4>${missingList(['no time reference (t0) for this run'])}`;
  const t0 = run.t0;
  const pages = renderSpaceTimeSvg(model, {
    t0,
    partitions: run.partitions.flatMap(partitionBands).map((b) => ({ fromTs: t0 + b.fromMs, toTs: b.toMs === null ? null : t0 + b.toMs, text: b.text, changing: b.changing })),
    marks: run.marks.filter((m) => m.applied).map((m) => ({ ts: t0 + m.atMs, text: m.text, kind: m.kind })),
    maxPages: MAX_DIAGRAM_PAGES,
  });
  const last = pages[pages.length - 1]!;
  const cut = last.toRow + 1 < last.totalRows
    ? `<p class="missing">The diagram is cut after ${pages.length} pages (rows 0–${last.toRow} of ${last.totalRows}, up to +${formatDuration(last.toMs)}); the rest of the run is in the nodes' events.ndjson.</p>`
    : '';
  const id = `acks-${anchor(run)}`;
  const c = model.counts;
  return `<h4>Space-time diagram (mcast)</h4>
<p>${model.nodes.length} nodes; ${c.messages} message and ${c.acks} ACK arrows; ${c.deliveries} deliveries${c.notReceived ? `; <b>${c.notReceived}</b> sends never received` : ''}; ${pages.length} page${pages.length === 1 ? '' : 's'}.</p>
${c.receivedBeforeSent ? `<p class="missing">${c.receivedBeforeSent} arrow(s) point upward: the receiver logged the message before its sender logged <code>mcast_sent</code>. acklab-mcast writes that event after sending the message to every peer, so the logged send time can be a few ms late. The diagram shows the times as they were logged.</p>` : ''}
${legend()}
<input type="checkbox" class="ack-toggle" id="${id}" checked> <label for="${id}">show ACK arrows</label>
${cut}
<div class="st-pages">
${pages
  .map(
    (p, i) => `<details class="st-page"${i < 2 ? ' open' : ''}><summary>page ${i + 1}/${pages.length}: +${formatDuration(p.fromMs)} … +${formatDuration(p.toMs)} (rows ${p.fromRow}–${p.toRow})</summary><div class="st-scroll">${p.svg}</div></details>`,
  )
  .join('\n')}
</div>`;
}

async function runSection(run: RunReport): Promise<string> {
  const parts: string[] = [];
  const statusClass = run.usable ? 'status-ok' : 'status-bad';
  parts.push(`<section class="run" id="${anchor(run)}"><h3>${esc(run.label)} <small class="${statusClass}">${esc(run.status)}${run.metrics?.crashed ? ', crashed' : ''}</small></h3>`);
  parts.push(`<p>Folder: <a href="${esc(run.dir === '.' ? 'manifest.json' : `${run.dir}/manifest.json`)}"><code>${esc(run.dir)}</code></a></p>`);
  if (run.missing.length) parts.push(`<div class="missing-list">${missingList(run.missing)}</div>`);
  if (run.manifest) {
    const chart = acksOverTimeSpec(run);
    if (chart) parts.push(await chartFigure(chart));
    else parts.push(missingList(['no acks were received in this run: no acks-over-time chart']));
    parts.push(spaceTimeSection(run));
    parts.push(manifestSection(run));
  }
  parts.push('</section>');
  return parts.join('\n');
}

export async function renderHtmlReport(data: ReportData): Promise<string> {
  const charts: string[] = [];
  const absent: string[] = [];
  const add = async (chart: ChartSpec | null, why: string) => {
    if (chart) charts.push(await chartFigure(chart));
    else absent.push(why);
  };
  await add(acksPerConditionSpec(data, 'peer'), 'no usable run has a peer client: no peer acks chart');
  await add(acksPerConditionSpec(data, 'mcast'), 'no usable run has an mcast part: no mcast acks chart');
  await add(rttSpec(data), 'no ack round trips in the usable runs: no RTT chart');
  await add(deliveryLatencySpec(data), 'no mcast deliveries in the usable runs: no delivery latency chart');
  const negative = data.runs.filter((r) => r.usable).flatMap((r) => r.deliveryLatencies.filter((d) => d.latencyMs < 0));
  if (negative.length > 0) {
    absent.push(
      `${negative.length} delivery latencies are negative (down to ${Math.min(...negative.map((d) => d.latencyMs))} ms): the message was delivered before its sender logged mcast_sent, ` +
        'which acklab-mcast writes after sending to every peer. They are drawn as logged.',
    );
  }
  const runs: string[] = [];
  for (const run of data.runs) runs.push(await runSection(run));
  const s = data.summary;
  const intro = s
    ? `Experiment <code>${esc(s.file)}</code>, seed ${s.seed}, ${s.repetitions} repetition(s), ${s.runs.length} run(s)${s.interrupted ? ' — <b>interrupted</b> (Ctrl-C): only the runs below were collected' : ''}.`
    : data.kind === 'sweep'
      ? `${data.runs.length} run folder(s); no ${esc('summary.json')} in this folder (the sweep did not finish, or this is a plain folder of runs).`
      : 'A single run.';
  const head = data.tableCells.head;
  const tableHtml = data.tableCells.rows.length
    ? table(head, data.tableCells.rows.map((r) => r.map(esc)))
    : '<p class="missing">No run could be read: no comparison table.</p>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(data.title)} — acklab report</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(data.title)}</h1>
<p>${intro}</p>
${missingList(data.problems)}
<nav><ul>${data.runs.map((r) => `<li><a href="#${anchor(r)}">${esc(r.label)}</a> <small class="${r.usable ? 'status-ok' : 'status-bad'}">${esc(r.status)}${r.metrics?.crashed ? ', crashed' : ''}</small></li>`).join('')}</ul></nav>
<h2 id="comparison">Comparison</h2>
<p>Cells are one value per condition, or min / median / max over repetitions. Runs that failed or whose workload crashed are left out of the numbers and counted in “runs” (the same table as <code>acklab report</code> prints and report.md holds).</p>
<div id="comparison-table">${tableHtml}</div>
${pairsSection(data)}
<h2 id="charts">Charts</h2>
<p><small>Per-condition charts use the same runs as the table (failed or crashed runs are left out).</small></p>
${missingList(absent)}
<div id="charts-list">${charts.join('\n')}</div>
<h2 id="runs">Runs</h2>
${runs.join('\n')}
</body>
</html>
`;
}
