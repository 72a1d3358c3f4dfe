/**
 * report.html: one self-contained file next to report.md — inline CSS, inline SVG, one small inline
 * script (the space-time diagrams' zoom and paging), no network. From the top: the verdict (what
 * `acklab run` exits with), the comparison table, the charts, and per run its charts, space-time
 * diagrams, manifest, timeline, conditions and log links.
 *
 * Layout: the page fits a 1024 px window without sideways scrolling and uses the width of a wide one
 * (charts side by side in cards, diagrams as wide as the page). Charts with latencies get a
 * log / linear switch (CSS only); everything else that moves is in space-time-viewer.ts.
 */
import { formatDuration } from '../common/index.js';
import { describeAction } from '../conditions/index.js';
import { pairRows, type SweepRun, type Verdict } from '../results/index.js';
import {
  ackRatioSpec,
  acksOverTimeSpec,
  cdfSpec,
  deliveryLatencySpec,
  latencyOverTimeSpec,
  renderChartSvg,
  rttSpec,
  spansDecades,
  type ChartSpec,
  type LatencyScale,
} from './charts.js';
import { runAnchor, type ReportData, type RunReport } from './html-data.js';
import type { SpaceTimeDiagram } from './space-time.js';
import { spaceTimeViewerScript } from './space-time-viewer.js';
import { tableCells, tableGroups } from './table.js';
import { pairsCells, pairsWorthShowing } from './pairs.js';

export const REPORT_HTML = 'report.html';

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}
const esc = escapeXml;

const STYLE = `
* { box-sizing: border-box; }
body { font-family: sans-serif; margin: 0; color: #222; line-height: 1.35; }
main { max-width: 1600px; margin: 0 auto; padding: 12px 20px 40px; }
h1 { font-size: 1.5em; margin: .4em 0; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 1.8em; }
h3 { margin: .6em 0; } h4 { margin: 1.2em 0 .4em; }
table { border-collapse: collapse; font-size: .88em; margin: .4em 0; }
th, td { border: 1px solid #ccc; padding: .22em .45em; text-align: right; vertical-align: top; }
th:first-child, td:first-child, table.kv th, table.kv td, table.left td, table.left th { text-align: left; }
table.kv th { background: #f5f5f5; font-weight: normal; color: #555; }
thead th { background: #f0f0f0; }
.table-scroll { max-width: 100%; overflow-x: auto; }
.missing { color: #8a5a00; background: #fff6e0; border-left: 4px solid #e0a000; padding: .3em .6em; margin: .3em 0; overflow-wrap: anywhere; }
.problem { color: #a00; }
.status-ok { color: #2a7d2a; font-weight: bold; } .status-bad { color: #b00; font-weight: bold; }
.v { display: inline-block; min-width: 4.2em; text-align: center; border-radius: 3px; padding: 0 .35em; font-weight: bold; font-size: .9em; }
.v-pass { background: #dff3df; color: #1e6b1e; } .v-fail { background: #fbdada; color: #a10000; } .v-invalid { background: #fde9c8; color: #8a4b00; }
.verdict { border: 2px solid; border-radius: 8px; padding: .6em 1em; margin: 1em 0; }
.verdict.verdict-pass { border-color: #3a9a3a; background: #f4fbf4; } .verdict.verdict-fail { border-color: #c33; background: #fff6f6; } .verdict.verdict-invalid { border-color: #d88a00; background: #fffaf0; }
.verdict .big { font-size: 1.35em; font-weight: bold; margin: 0 0 .3em; }
.verdict table td, .verdict table th { text-align: center; } .verdict table td:first-child { text-align: left; }
.verdict ul { margin: .3em 0; padding-left: 1.2em; } .verdict li { overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 560px), 1fr)); gap: 14px 24px; align-items: start; }
.card { min-width: 0; }
figure.chart { margin: 0; }
figure.chart svg { display: block; width: 100%; height: auto; }
.scale-toggle { font-size: .85em; color: #444; margin: 0 0 .2em; }
.scale-toggle label { margin-right: .8em; cursor: pointer; }
.card:has(input.scale-linear:checked) .variant-log, .card:has(input.scale-log:checked) .variant-linear { display: none; }
.run { border: 1px solid #ddd; border-radius: 6px; padding: 0 14px 14px; margin: 1em 0; }
.legend { font-size: .85em; } .legend span { margin-right: 1.1em; white-space: nowrap; display: inline-block; }
.legend svg { vertical-align: middle; }
.st { position: relative; margin: .6em 0 1.4em; }
.st-bar { display: flex; flex-wrap: wrap; gap: .4em 1.2em; align-items: center; font-size: .88em; margin: .3em 0; }
.st-bar button { font-size: .95em; padding: .1em .5em; cursor: pointer; }
.st-where { color: #444; font-variant-numeric: tabular-nums; margin: 0 .4em; }
.st-head svg, .st-view svg { display: block; max-width: 100%; height: auto; }
.st-view { max-height: 76vh; overflow-y: auto; overflow-x: hidden; border: 1px solid #ddd; border-radius: 4px; outline: none; touch-action: pan-y; user-select: none; }
.st-view:focus-visible { border-color: #4c78a8; }
.st-select { display: none; position: absolute; background: rgba(76, 120, 168, .15); border: 1px solid #4c78a8; pointer-events: none; font-size: 11px; color: #234; padding: 2px 6px; }
.st:has(.ack-toggle:not(:checked)) .ack-part { display: none; }
.st-help { font-size: .8em; color: #666; margin: .3em 0 0; }
.no-js .js-only { display: none; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; font-size: .8em; max-height: 30em; }
code { font-size: .9em; overflow-wrap: anywhere; }
nav ul { display: flex; flex-wrap: wrap; gap: .25em 1.6em; list-style: none; padding: 0; margin: .6em 0; }
nav li { white-space: nowrap; }
`;

function table(head: string[], rows: string[][], cls = ''): string {
  return `<div class="table-scroll"><table${cls ? ` class="${cls}"` : ''}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></div>`;
}

function kv(rows: [string, string][]): string {
  return `<div class="table-scroll"><table class="kv"><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table></div>`;
}

const missingList = (items: string[]) => items.map((m) => `<p class="missing">${esc(m)}</p>`).join('\n');
const badge = (v: Verdict, title?: string) => `<span class="v v-${v}"${title ? ` title="${esc(title)}"` : ''}>${v}</span>`;

/** A chart in a card; latency charts in both scales with a switch (the one that suits the data first). */
async function chartCard(make: (scale: LatencyScale) => ChartSpec | null, values?: number[]): Promise<string | null> {
  if (values === undefined) {
    const chart = make('linear');
    return chart ? `<div class="card">${await figure(chart)}</div>` : null;
  }
  const first: LatencyScale = spansDecades(values) ? 'log' : 'linear';
  const log = make('log');
  const linear = make('linear');
  if (!log || !linear) return null;
  const name = `scale-${log.id}`;
  const radio = (s: LatencyScale) => `<label><input type="radio" class="scale-${s}" name="${esc(name)}" value="${s}"${s === first ? ' checked' : ''}> ${s === 'log' ? 'log scale' : 'linear scale'}</label>`;
  return `<div class="card" id="card-${esc(log.id)}"><div class="scale-toggle">${radio('log')}${radio('linear')}</div>${await figure(log, 'log')}${await figure(linear, 'linear')}</div>`;
}

async function figure(chart: ChartSpec, variant?: LatencyScale): Promise<string> {
  const svg = await renderChartSvg(chart.spec);
  const width = Number(/^<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1] ?? 0);
  // scaled to its card, but never blown up past 1.25× (text would grow too)
  const style = width > 0 ? ` style="max-width:${Math.round(width * 1.25)}px"` : '';
  return `<figure class="chart${variant ? ` variant-${variant}` : ''}" id="chart-${esc(chart.id)}${variant ? `-${variant}` : ''}" data-chart="${esc(chart.id)}"${variant ? ` data-variant="${variant}"` : ''}${style}>${svg}</figure>`;
}

function verdictSection(data: ReportData): string {
  const v = data.verdict;
  const what = data.kind === 'sweep'
    ? v.interrupted
      ? `interrupted (Ctrl-C): <code>acklab run</code> exits ${v.exitCode}`
      : `<code>acklab run</code> exits ${v.exitCode}${v.exitCode === 0 ? '' : ` (${v.runs.filter((r) => r.verdict !== 'pass').length} of ${v.runs.length} run(s) did not pass)`}`
    : 'the verdict of this run';
  const head = ['run', 'verdict', ...v.checks];
  const rows = v.runs.map((r) => [
    `<a href="#${esc(r.anchor)}">${esc(r.label)}</a>`,
    badge(r.verdict),
    ...v.checks.map((name) => {
      const c = r.checks.find((x) => x.name === name);
      return c ? badge(c.verdict, `${name}: ${c.reason}`) : '<span title="not judged: the run has no such part">–</span>';
    }),
  ]);
  const reasons = v.runs.flatMap((r) => {
    const bad = r.checks.filter((c) => c.verdict !== 'pass');
    if (r.checks.length === 0) return [`<li>${badge(r.verdict)} <b>${esc(r.label)}</b>: the run could not be read back</li>`];
    return bad.map((c) => `<li>${badge(c.verdict)} <b>${esc(r.label)}</b> · ${esc(c.name)}: ${esc(c.reason)}</li>`);
  });
  const passNotes = v.runs.flatMap((r) => r.checks.filter((c) => c.verdict === 'pass' && /accounted for|process faults/.test(c.reason)).map((c) => `<li>${badge('pass')} <b>${esc(r.label)}</b> · ${esc(c.name)}: ${esc(c.reason)}</li>`));
  return `<section id="verdict" class="verdict verdict-${v.verdict}" data-verdict="${v.verdict}">
<p class="big">Verdict: ${badge(v.verdict)} <span style="font-weight:normal;font-size:.75em">— ${what}</span></p>
<p><small>Per run and per check: <b>pass</b> the check holds (a shortfall counts as pass when a fault of the run accounts for it); <b>fail</b> the programs got it wrong; <b>invalid</b> the run cannot be judged. A run's verdict is its worst check, the sweep's its worst run. Hover a cell for its reason.</small></p>
${table(head, rows)}
${reasons.length ? `<ul class="reasons">${reasons.join('')}</ul>` : ''}
${passNotes.length ? `<details><summary>shortfalls that faults account for (${passNotes.length})</summary><ul>${passNotes.join('')}</ul></details>` : ''}
</section>`;
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

function diagramLegend(kind: SpaceTimeDiagram['kind']): string {
  const line = (color: string, dash = '', w = 1.6, head = true) =>
    `<svg width="30" height="10"><line x1="2" y1="5" x2="${head ? 22 : 28}" y2="5" stroke="${color}" stroke-width="${w}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>${head ? `<path d="M21,1L29,5L21,9z" fill="${color}"/>` : ''}</svg>`;
  const icon = (inner: string) => `<svg width="12" height="12">${inner}</svg>`;
  const mcast = kind === 'mcast';
  return `<p class="legend">
<span>${line('#4c78a8')} ${mcast ? 'message (one colour per sender)' : '&lt;update&gt;'}</span>
<span>${line('#767676', '', 0.9)} ${mcast ? 'ACK' : '&lt;Ack&gt;'}</span>
<span>${line('#d62728', '4 2', 1.3, false)}<b style="color:#d62728">×</b> never received: lost at the time of the cut, on its own path</span>
<span>${icon('<circle cx="6" cy="6" r="4" fill="white" stroke="#4c78a8" stroke-width="1.8"/>')} ${mcast ? 'multicast (m<i>sender.seq</i>)' : 'update sent (u<i>n</i>)'}</span>
<span>${icon('<circle cx="6" cy="6" r="2.8" fill="#4c78a8"/>')} receive</span>
${mcast ? `<span>${icon('<rect x="3.5" y="3.5" width="5" height="5" fill="white" stroke="#767676" stroke-width="1.2"/>')} ACK sent</span><span>${icon('<circle cx="6" cy="6" r="2.2" fill="#767676"/>')} ACK received</span>` : ''}
<span>${icon('<circle cx="6" cy="6" r="3.8" fill="#4c78a8"/>')} ${mcast ? 'delivered (✓<i>sender.seq</i> #<i>position</i>)' : 'ack received (✓<i>n</i> and its round trip)'}</span>
<span>${icon('<path d="M6,1.5L10.5,6L6,10.5L1.5,6Z" fill="#fff3cd" stroke="#b8860b" stroke-width="1.2"/>')} ${mcast ? 'mesh up, peer lost or left' : 'connection up or closed'}</span>
<span><svg width="18" height="10"><rect width="18" height="10" fill="#d62728" fill-opacity="0.15"/></svg> fault in force (partition red, impairment orange, process purple); dashed: being applied or ended</span>
<span><svg width="30" height="12"><path d="M0,4L5,2L10,6L15,2L20,6L25,2L30,6M0,10L5,8L10,12L15,8L20,12L25,8L30,12" fill="none" stroke="#999"/></svg> a quiet stretch drawn shorter than to scale (its length beside it)</span>
</p>
<p class="legend"><small><b>L<i>n</i></b>: the event's Lamport timestamp${mcast ? ' (a send: the timestamp it stamps; a receive: the clock after it)' : ' (derived: acklab-peer keeps no clock)'}, shown where there is room — hover any event or arrow for its times, its Lamport timestamp and what it is.</small></p>`;
}

function diagramSection(run: RunReport, d: SpaceTimeDiagram): string {
  const id = `${runAnchor(run.label)}-${d.kind}`;
  const title = d.kind === 'mcast' ? 'Space-time diagram: mcast members' : 'Space-time diagram: peer client/server';
  if (d.data.events.length === 0) return `<h4>${title}</h4>${missingList([`the ${d.kind} nodes logged no message events: nothing to draw`])}`;
  const c = d.counts;
  const what =
    d.kind === 'mcast'
      ? `${d.data.lifelines.length} members; ${c.messages} message and ${c.acks} ACK arrows; ${c.deliveries} deliveries`
      : `${d.data.lifelines.length} nodes; ${c.messages} update/greeting and ${c.acks} ack arrows`;
  const lost = c.lost + c.lostAcks ? `; <b>${c.lost}</b> message(s) and <b>${c.lostAcks}</b> ACK(s) never received` : '';
  const clock = c.receivedBeforeSent
    ? `<p class="missing">${c.receivedBeforeSent} arrow(s) point upward: a receive was logged at an earlier wall-clock time than its send. The programs log every send before writing it and every receive as it is read, so on one host this cannot happen: the nodes' clocks disagree (nodes on different hosts, or a clock step during the run).</p>`
    : '';
  const json = JSON.stringify(d.data).replaceAll('<', '\\u003c');
  return `<h4>${title}</h4>
<p>${what}${lost}.</p>
${clock}
${diagramLegend(d.kind)}
<div class="st" id="${esc(id)}" data-kind="${d.kind}">
<div class="st-bar">
<span class="js-only">view: <label><input type="radio" class="st-mode" name="${esc(id)}-mode" value="time" checked> time-true</label> <label><input type="radio" class="st-mode" name="${esc(id)}-mode" value="logical"> logical</label></span>
<span class="js-only"><button type="button" data-act="in" title="zoom in (+)">zoom +</button> <button type="button" data-act="out" title="zoom out (−)">zoom −</button> <button type="button" data-act="fit">whole run</button> <button type="button" data-act="reset">reset</button></span>
<span class="js-only"><button type="button" data-act="prev">◀ page</button><span class="st-where"></span><button type="button" data-act="next">page ▶</button></span>
<label><input type="checkbox" class="ack-toggle" checked> ACK arrows</label>
</div>
<div class="st-head"></div>
<div class="st-view" tabindex="0"><noscript><p class="missing">The diagram is drawn by this file's own inline script (it asks nothing of the network); this browser runs no scripts.</p></noscript></div>
<div class="st-select"></div>
<p class="st-help js-only">Zoom: the wheel over the time column (or Ctrl + wheel anywhere), drag across a span to fill the view with it, + / − keys; double-click resets. Scroll or page through the run.</p>
<script type="application/json" class="st-data">${json}</script>
</div>`;
}

async function runSection(run: RunReport): Promise<string> {
  const parts: string[] = [];
  const statusClass = run.usable ? 'status-ok' : 'status-bad';
  parts.push(
    `<section class="run" id="${runAnchor(run.label)}"><h3>${esc(run.label)} <small class="${statusClass}">${esc(run.status)}${run.metrics?.crashed ? ', crashed' : ''}</small> ${run.verdict ? badge(run.verdict.verdict) : ''}</h3>`,
  );
  parts.push(`<p>Folder: <a href="${esc(run.dir === '.' ? 'manifest.json' : `${run.dir}/manifest.json`)}"><code>${esc(run.dir)}</code></a></p>`);
  if (run.missing.length) parts.push(`<div class="missing-list">${missingList(run.missing)}</div>`);
  if (run.manifest) {
    const cards: string[] = [];
    const acks = acksOverTimeSpec(run);
    if (acks) cards.push(`<div class="card">${await figure(acks)}</div>`);
    else parts.push(missingList(['no acks were received in this run: no acks-over-time chart']));
    // one scale per run (the one its latencies need), to keep the file small; the axis title says which
    const latency = latencyOverTimeSpec(run, spansDecades(run.latency.points.map((p) => p.latencyMs)) ? 'log' : 'linear');
    if (latency) cards.push(`<div class="card">${await figure(latency)}</div>`);
    if (cards.length) parts.push(`<div class="cards">${cards.join('\n')}</div>`);
    for (const d of run.diagrams) parts.push(diagramSection(run, d));
    parts.push(manifestSection(run));
  }
  parts.push('</section>');
  return parts.join('\n');
}

export async function renderHtmlReport(data: ReportData): Promise<string> {
  const charts: string[] = [];
  const absent: string[] = [];
  const add = async (card: string | null, why: string) => {
    if (card) charts.push(card);
    else absent.push(why);
  };
  const usable = data.runs.filter((r) => r.usable);
  const rtts = usable.flatMap((r) => r.rtts);
  const latencies = usable.flatMap((r) => r.deliveryLatencies.map((d) => d.latencyMs));
  await add(await chartCard(() => ackRatioSpec(data, 'peer')), 'no usable run has a peer client: no peer acks chart');
  await add(await chartCard(() => ackRatioSpec(data, 'mcast')), 'no usable run has an mcast part: no mcast ACKs chart');
  await add(await chartCard((s) => rttSpec(data, s), rtts), 'no ack round trips in the usable runs: no RTT chart');
  await add(await chartCard((s) => cdfSpec(data, 'ack-rtt', s), rtts), 'no ack round trips in the usable runs: no RTT CDF');
  await add(await chartCard((s) => deliveryLatencySpec(data, s), latencies), 'no mcast deliveries in the usable runs: no delivery latency chart');
  await add(await chartCard((s) => cdfSpec(data, 'delivery-latency', s), latencies), 'no mcast deliveries in the usable runs: no delivery latency CDF');
  const negative = usable.flatMap((r) => r.deliveryLatencies.filter((d) => d.latencyMs < 0));
  if (negative.length > 0) {
    absent.push(
      `${negative.length} delivery latencies are negative (down to ${Math.min(...negative.map((d) => d.latencyMs))} ms): a member delivered a message before its sender logged sending it. ` +
        'The programs log every send before writing it, so on one host this cannot happen: the nodes’ clocks disagree. They are drawn as logged.',
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
  const tables = data.tableCells.rows.length
    ? tableGroups(data.table)
        .map((g) => {
          const cells = tableCells(g.table, { order: g.order });
          return `${g.title ? `<h3>${esc(g.title)}</h3>` : ''}${table(cells.head, cells.rows.map((r) => r.map(esc)))}`;
        })
        .join('\n')
    : '<p class="missing">No run could be read: no comparison table.</p>';
  const script = spaceTimeViewerScript().replaceAll('</script', '<\\/script');
  return `<!DOCTYPE html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(data.title)} — acklab report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${esc(data.title)}</h1>
<p>${intro}</p>
${verdictSection(data)}
${missingList(data.problems)}
<nav><ul>${data.runs.map((r) => `<li><a href="#${runAnchor(r.label)}">${esc(r.label)}</a> ${r.verdict ? badge(r.verdict.verdict) : ''} <small class="${r.usable ? 'status-ok' : 'status-bad'}">${esc(r.status)}${r.metrics?.crashed ? ', crashed' : ''}</small></li>`).join('')}</ul></nav>
<h2 id="comparison">Comparison</h2>
<p>Cells are one value per condition, or min / median / max over repetitions. Runs that failed or whose workload crashed are left out of the numbers and counted in “runs” (the same table as <code>acklab report</code> prints and report.md holds).</p>
<div id="comparison-table">${tables}</div>
${pairsSection(data)}
<h2 id="charts">Charts</h2>
<p><small>Per-condition charts use the same runs as the table (failed or crashed runs are left out). Hover a mark for its numbers.</small></p>
${missingList(absent)}
<div id="charts-list" class="cards">${charts.join('\n')}</div>
<h2 id="runs">Runs</h2>
${runs.join('\n')}
</main>
<script>${script}</script>
</body>
</html>
`;
}
