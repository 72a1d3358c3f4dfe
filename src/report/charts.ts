/**
 * The report's charts as Vega-Lite specs (pure builders from html-data.ts's data), rendered to SVG
 * in Node with Vega's headless View, so report.html needs no charting script and no network.
 *
 * Sizing: every chart is drawn for a card about CARD_WIDTH px wide; the page shows the cards one per
 * row in a narrow window and side by side in a wide one, scaling each SVG to its card (html.ts).
 * Condition names are never cut: they wrap at their dashes. Latencies that span decades get a log
 * (symlog, so 0 ms stays on it) axis; html.ts offers the linear one next to it.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ComparisonTable } from '../results/index.js';
import type { ReportData, RunReport } from './html-data.js';

export interface ChartSpec {
  id: string;
  title: string;
  spec: TopLevelSpec;
}

export type LatencyScale = 'log' | 'linear';

/** The width a chart is drawn for (px, whole chart). */
export const CARD_WIDTH = 720;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12, labelOverlap: true },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 },
  title: { fontSize: 13, anchor: 'start' as const, limit: 0 },
  view: { stroke: '#ddd' },
};
const FAULT_COLORS: Record<string, string> = { partition: '#d62728', impair: '#e6830f', process: '#7b4fb0', heal: '#2a7d2a', other: '#555555' };

type Layer = NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']>[number];

const usableRuns = (data: ReportData) => data.runs.filter((r) => r.usable && r.metrics);
const conditionOrder = (table: ComparisonTable) => table.rows.map((r) => r.condition);

/** A condition name in lines of at most `max` characters, broken after its dashes (a name is never cut). */
export function wrapName(name: string, max = 12): string[] {
  const parts = name.split(/(?<=[-_.])/);
  const lines: string[] = [];
  let line = '';
  for (const p of parts) {
    if (line && (line + p).length > max) {
      lines.push(line);
      line = p;
    } else line += p;
  }
  if (line) lines.push(line);
  return lines;
}

/** An x axis of condition names: horizontal, wrapped at dashes, no length limit. */
function conditionAxis(conditions: string[], max = 12): Record<string, unknown> {
  const wrapped = conditions.filter((c) => wrapName(c, max).length > 1);
  const expr = wrapped.reduceRight((rest, c) => `datum.value === ${JSON.stringify(c)} ? ${JSON.stringify(wrapName(c, max))} : ${rest}`, 'datum.value');
  return { labelAngle: 0, labelLimit: 0, labelExpr: expr, labelLineHeight: 13, labelPadding: 4, title: null, labelOverlap: false };
}

/** Whether latencies spanning [lo, hi] need a log axis (over two decades). */
export function spansDecades(values: readonly number[]): boolean {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return false;
  return Math.max(...positive) / Math.min(...positive) > 100;
}

const LOG_TICKS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000];

/** A latency axis (ms): symlog with decade ticks, or linear from 0. */
function latencyScale(scale: LatencyScale, values: readonly number[]): { scale: Record<string, unknown>; axis: Record<string, unknown> } {
  const hi = Math.max(1, ...values);
  const fmt = "datum.value >= 1000 ? format(datum.value / 1000, '~g') + ' s' : format(datum.value, '~g') + ' ms'";
  if (scale === 'log') {
    const top = LOG_TICKS.find((t) => t >= hi) ?? hi;
    return { scale: { type: 'symlog', constant: 1, domain: [0, top], nice: false }, axis: { values: LOG_TICKS.filter((t) => t <= top), labelExpr: fmt, grid: true } };
  }
  return { scale: { type: 'linear', zero: true, nice: true }, axis: { labelExpr: fmt, grid: true } };
}

/** Acks as a ratio (acked / sent, or ACKs received / expected) per condition: median bar, min–max rule, one dot per run; counts in the tooltip. */
export function ackRatioSpec(data: ReportData, part: 'peer' | 'mcast'): ChartSpec | null {
  const key = part === 'peer' ? 'peer.ackRatio' : 'mcast.ackRatio';
  const runs = usableRuns(data).flatMap((r) => {
    const m = r.metrics!;
    if (part === 'peer') {
      const p = m.peer;
      if (!p || p.ackRatio === null) return [];
      const counts = `${p.acksReceived} of ${p.updatesSent} updates acked`;
      return [{ condition: r.condition, run: r.label, ratio: p.ackRatio * 100, counts, tip: `${r.label}: ${counts} (${(p.ackRatio * 100).toFixed(1)} %)` }];
    }
    const c = m.mcast;
    if (!c || c.ackRatio == null) return [];
    const counts = `${c.acksReceived} of ${c.acksExpected} ACKs received (${c.sent} messages × ${c.nodes.length - 1}² ACKs each)`;
    return [{ condition: r.condition, run: r.label, ratio: c.ackRatio * 100, counts, tip: `${r.label}: ${counts} (${(c.ackRatio * 100).toFixed(1)} %)` }];
  });
  const spreads = data.table.rows.flatMap((row) => {
    const s = row.cells[key];
    if (!s || s.n === 0) return [];
    const mine = runs.filter((r) => r.condition === row.condition);
    const range = s.n > 1 ? `, min ${s.min!.toFixed(1)} %, max ${s.max!.toFixed(1)} %` : '';
    return [{ condition: row.condition, min: s.min, median: s.median, max: s.max, n: s.n, tip: `${row.condition}: median ${s.median!.toFixed(1)} % over ${s.n} run(s)${range} — ${mine.map((r) => r.counts).join('; ')}` }];
  });
  if (spreads.length === 0) return null;
  const order = conditionOrder(data.table);
  const x = { field: 'condition', type: 'nominal' as const, sort: order, axis: conditionAxis(order) };
  const y = { type: 'quantitative' as const, scale: { domain: [0, 100], nice: false }, title: part === 'peer' ? 'acked / sent (%)' : 'received / expected (%)' };
  const title = part === 'peer' ? 'peer: updates acked (acks / updates sent)' : 'mcast: ACKs received / expected';
  const color = part === 'peer' ? '#4c78a8' : '#54a24b';
  return {
    id: `acks-${part}`,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      width: CARD_WIDTH - 90,
      height: 200,
      config: CONFIG,
      layer: [
        {
          data: { name: 'spread', values: spreads },
          mark: { type: 'bar', color, opacity: 0.75, width: { band: 0.7 } },
          encoding: { x, y: { ...y, field: 'median' }, description: { field: 'tip' } },
        },
        {
          data: { name: 'spread', values: spreads },
          mark: { type: 'rule', strokeWidth: 2, aria: false },
          encoding: { x, y: { ...y, field: 'min' }, y2: { field: 'max' } },
        },
        {
          data: { name: 'runs', values: runs },
          mark: { type: 'point', filled: true, color: 'black', size: 36 },
          encoding: { x, y: { ...y, field: 'ratio' }, description: { field: 'tip' } },
        },
      ],
    },
  };
}

/** Ack round trips per condition: a box plot (min–max whiskers) of every ack of the condition's usable runs. */
export function rttSpec(data: ReportData, scale: LatencyScale): ChartSpec | null {
  const values = usableRuns(data).flatMap((r) => r.rtts.map((rttMs) => ({ condition: r.condition, run: r.label, rttMs })));
  if (values.length === 0) return null;
  const order = conditionOrder(data.table);
  const ls = latencyScale(scale, values.map((v) => v.rttMs));
  const title = 'peer: ack round-trip time per condition';
  return {
    id: 'rtt',
    title,
    spec: {
      $schema: SCHEMA,
      title,
      width: CARD_WIDTH - 100,
      height: 230,
      config: CONFIG,
      data: { name: 'rtts', values },
      mark: { type: 'boxplot', extent: 'min-max', size: 26 },
      encoding: {
        x: { field: 'condition', type: 'nominal', sort: order, axis: conditionAxis(order) },
        y: { field: 'rttMs', type: 'quantitative', title: `ack RTT${scale === 'log' ? ' (log scale)' : ''}`, scale: ls.scale, axis: ls.axis },
      },
    },
  };
}

/** mcast delivery latency (send → delivery) per delivering node, one panel per condition, all on one y axis. */
export function deliveryLatencySpec(data: ReportData, scale: LatencyScale): ChartSpec | null {
  const values = usableRuns(data).flatMap((r) => r.deliveryLatencies.map((d) => ({ condition: r.condition, run: r.label, node: d.node, latencyMs: d.latencyMs })));
  if (values.length === 0) return null;
  const conditions = conditionOrder(data.table).filter((c) => values.some((v) => v.condition === c));
  const columns = Math.min(3, conditions.length);
  const nodes = [...new Set(values.map((v) => v.node))];
  const ls = latencyScale(scale, values.map((v) => v.latencyMs));
  const title = 'mcast: delivery latency per node (multicast → delivery), one panel per condition';
  return {
    id: 'delivery-latency',
    title,
    spec: {
      $schema: SCHEMA,
      title,
      config: CONFIG,
      data: { name: 'latencies', values },
      facet: { field: 'condition', type: 'nominal', sort: conditions, title: null, header: { labelFontSize: 12, labelLimit: 0 } },
      columns,
      // one y axis for every panel, so panels compare at a glance
      resolve: { scale: { y: 'shared' } },
      spec: {
        width: Math.floor((CARD_WIDTH - 110) / columns) - 20,
        height: 150,
        mark: { type: 'boxplot', extent: 'min-max', size: Math.max(8, Math.min(22, Math.floor(150 / Math.max(1, nodes.length)) - 8)) },
        encoding: {
          x: { field: 'node', type: 'nominal', axis: { labelAngle: 0, title: null } },
          y: { field: 'latencyMs', type: 'quantitative', title: `delivery latency${scale === 'log' ? ' (log)' : ''}`, scale: ls.scale, axis: ls.axis },
          color: { field: 'node', type: 'nominal', legend: null },
        },
      },
    },
  };
}

/** The latency CDF per condition (every ack round trip, or every delivery latency, of its usable runs). */
export function cdfSpec(data: ReportData, metric: 'ack-rtt' | 'delivery-latency', scale: LatencyScale): ChartSpec | null {
  const cdfs = data.cdfs.filter((c) => c.metric === metric);
  if (cdfs.length === 0) return null;
  const order = conditionOrder(data.table).filter((c) => cdfs.some((d) => d.condition === c));
  const values = cdfs.flatMap((c) => c.points.map((p) => ({ condition: c.condition, latencyMs: p.value, fraction: p.fraction, n: c.n })));
  const ls = latencyScale(scale, values.map((v) => v.latencyMs));
  const what = metric === 'ack-rtt' ? 'peer: ack round-trip time' : 'mcast: delivery latency';
  const title = `${what}, CDF per condition`;
  return {
    id: `cdf-${metric}`,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      width: CARD_WIDTH - 250,
      height: 220,
      config: CONFIG,
      data: { name: 'cdf', values },
      mark: { type: 'line', interpolate: 'step-after', clip: true, strokeWidth: 1.8, aria: false },
      encoding: {
        x: { field: 'latencyMs', type: 'quantitative', title: `${metric === 'ack-rtt' ? 'ack RTT' : 'delivery latency'}${scale === 'log' ? ' (log scale)' : ''}`, scale: ls.scale, axis: { ...ls.axis, labelAngle: 0 } },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction ≤ x', scale: { domain: [0, 1] }, axis: { format: '%' } },
        color: { field: 'condition', type: 'nominal', sort: order, title: 'condition', legend: { orient: 'right', labelLimit: 0 } },
      },
    },
  };
}

/**
 * Rows for the timeline steps' labels above a time chart, so that no two overlap: each label takes
 * the first row where it clears the previous label; with no row free it is left to the rule's tooltip.
 */
export function stepLabelRows(marks: { x: number; text: string }[], widthPx: number, endX: number, rows = 3, charPx = 5.6): (number | null)[] {
  const ends = new Array<number>(rows).fill(-Infinity);
  return marks.map((m) => {
    const px = (m.x / Math.max(endX, 1e-9)) * widthPx;
    const w = m.text.length * charPx + 6;
    // a label that would run past the plot's right edge is drawn leftwards from its rule
    const [l, r] = px + w > widthPx ? [px - w, px] : [px, px + w];
    const row = ends.findIndex((e) => e <= l);
    if (row < 0) return null;
    ends[row] = r;
    return row;
  });
}

/** The fault layers of a time chart (x in seconds): shaded bands, dashed rules and their labels. */
function faultLayers(run: RunReport, endS: number, plotWidth: number): Layer[] {
  const bands = run.bands.map((b) => ({ from: b.fromMs / 1000, to: (b.toMs ?? endS * 1000) / 1000, text: b.text, cls: b.cls, changing: b.changing }));
  const marks = run.marks.filter((m) => m.applied).map((m) => ({ t: m.atMs / 1000, text: m.atMs - m.plannedMs >= 100 ? `${m.text} (in force ${(m.atMs / 1000).toFixed(1)}s)` : m.text, cls: m.cls }));
  const rows = stepLabelRows(marks.map((m) => ({ x: m.t, text: m.text })), plotWidth, endS);
  const labelled = marks.flatMap((m, i) => {
    const row = rows[i];
    if (row === null || row === undefined) return [];
    const px = (m.t / endS) * plotWidth;
    const left = px + m.text.length * 5.6 + 6 > plotWidth;
    return [{ ...m, y: 11 + 12 * row, align: left ? 'right' : 'left' }];
  });
  const layers: Layer[] = [];
  const x = (field: string) => ({ field, type: 'quantitative' as const, scale: { domain: [0, endS], nice: false } });
  // literal colours (scale: null), so the faults never share a colour scale with the data
  const literal = { field: 'color', type: 'nominal' as const, scale: null, legend: null };
  const colored = <T extends { cls: string }>(v: T) => ({ ...v, color: FAULT_COLORS[v.cls] ?? FAULT_COLORS.other! });
  const changing = bands.filter((b) => b.changing).map(colored);
  const spans = bands.filter((b) => !b.changing).map(colored);
  const tip = (b: { text: string; from: number; to: number }) => `${b.text}: ${b.from.toFixed(2)} s → ${b.to.toFixed(2)} s`;
  if (changing.length) {
    layers.push({
      data: { name: 'fault-changes', values: changing.map((b) => ({ ...b, tip: tip(b) })) },
      mark: { type: 'rect', opacity: 0.06, strokeDash: [2, 2], strokeOpacity: 0.5, clip: true },
      encoding: { x: x('from'), x2: { field: 'to' }, fill: literal, stroke: literal, description: { field: 'tip' } },
    });
  }
  if (spans.length) {
    layers.push({
      data: { name: 'faults', values: spans.map((b) => ({ ...b, tip: tip(b) })) },
      mark: { type: 'rect', opacity: 0.13, clip: true },
      encoding: { x: x('from'), x2: { field: 'to' }, fill: literal, description: { field: 'tip' } },
    });
  }
  if (marks.length) {
    layers.push({
      data: { name: 'marks', values: marks.map((m) => ({ ...colored(m), tip: `${m.text}: in force at ${m.t.toFixed(3)} s` })) },
      mark: { type: 'rule', strokeDash: [4, 3], clip: true, strokeWidth: 1.2 },
      encoding: { x: x('t'), stroke: literal, description: { field: 'tip' } },
    });
  }
  for (const align of ['left', 'right'] as const) {
    const these = labelled.filter((l) => l.align === align).map(colored);
    if (these.length === 0) continue;
    for (const halo of [true, false]) {
      layers.push({
        data: { name: `mark-labels-${align}`, values: these },
        mark: { type: 'text', align, dx: align === 'left' ? 3 : -3, baseline: 'middle', fontSize: 10, aria: false, ...(halo ? { stroke: 'white', strokeWidth: 3, strokeOpacity: 0.85 } : {}) },
        encoding: { x: x('t'), y: { field: 'y', type: 'quantitative', scale: null }, text: { field: 'text' }, ...(halo ? {} : { fill: literal }) },
      });
    }
  }
  return layers;
}

const runEndS = (run: RunReport, more: number[]) => {
  const ends = [...more, ...run.marks.map((m) => m.atMs / 1000), ...run.bands.flatMap((b) => [b.fromMs / 1000, ...(b.toMs === null ? [] : [b.toMs / 1000])])];
  if (run.manifest) ends.push(run.manifest.experiment.durationMs / 1000);
  return Math.max(1, ...ends.filter((v) => Number.isFinite(v)));
};

/** Acks received over the run's time, with the fault timeline marked (rules) and faults shaded. */
export function acksOverTimeSpec(run: RunReport): ChartSpec | null {
  if (run.acksOverTime.length === 0) return null;
  const plotWidth = CARD_WIDTH - 90;
  const endS = runEndS(run, run.acksOverTime.map((p) => p.tMs / 1000));
  const title = `${run.label}: acks received over time`;
  const series = [...new Set(run.acksOverTime.map((p) => p.series))];
  const maxY = Math.max(...run.acksOverTime.map((p) => p.cumulative));
  const layers: Layer[] = faultLayers(run, endS, plotWidth);
  layers.unshift({
    data: { name: 'acks', values: run.acksOverTime.map((p) => ({ ...p, t: p.tMs / 1000 })) },
    mark: { type: 'line', interpolate: 'step-after', clip: true, strokeWidth: 1.8, aria: false },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'seconds since t0', scale: { domain: [0, endS], nice: false } },
      y: { field: 'cumulative', type: 'quantitative', title: 'acks received so far', scale: { domain: [0, Math.ceil(maxY * 1.08)], nice: false } },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: series.map((s) => (s === 'peer acks' ? '#4c78a8' : '#54a24b')) }, legend: { orient: 'bottom' } },
    },
  });
  // the fault bands first (under the lines), labels last
  const order = [...layers.filter((l) => 'mark' in l && typeof l.mark === 'object' && l.mark.type === 'rect'), layers[0]!, ...layers.filter((l, i) => i > 0 && !('mark' in l && typeof l.mark === 'object' && l.mark.type === 'rect'))];
  return {
    id: `acks-time-${run.label}`,
    title,
    spec: { $schema: SCHEMA, title, width: plotWidth, height: 190, config: CONFIG, layer: order },
  };
}

/**
 * Latency over the run's time (Jepsen's latency plot): each update's round trip and each mcast
 * delivery as a point at its send time; what never completed as a cross along the top; faults shaded.
 */
export function latencyOverTimeSpec(run: RunReport, scale: LatencyScale): ChartSpec | null {
  const { points, missing } = run.latency;
  if (points.length === 0 && missing.length === 0) return null;
  const plotWidth = CARD_WIDTH - 90;
  const endS = runEndS(run, [...points.map((p) => p.tMs / 1000), ...missing.map((m) => m.tMs / 1000)]);
  const ls = latencyScale(scale, points.map((p) => p.latencyMs));
  const series = [...new Set(points.map((p) => p.series))].sort();
  const palette = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#9d755d', '#bab0ac'];
  const title = `${run.label}: latency over time (by send time)`;
  const x = { field: 't', type: 'quantitative' as const, title: 'sent at (seconds since t0)', scale: { domain: [0, endS], nice: false } };
  const layers: Layer[] = [];
  const faults = faultLayers(run, endS, plotWidth);
  layers.push(...faults.filter((l) => 'mark' in l && typeof l.mark === 'object' && l.mark.type === 'rect'));
  if (points.length) {
    layers.push({
      data: { name: 'latency', values: points.map((p) => ({ ...p, t: p.tMs / 1000 })) },
      mark: { type: 'point', filled: true, size: 16, opacity: 0.75, clip: true },
      encoding: {
        x,
        y: { field: 'latencyMs', type: 'quantitative', title: `latency${scale === 'log' ? ' (log scale)' : ''}`, scale: ls.scale, axis: ls.axis },
        color: { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: palette.slice(0, series.length) }, legend: { orient: 'bottom', columns: 2 } },
        shape: { field: 'series', type: 'nominal', scale: { domain: series, range: series.map((s) => (s.startsWith('peer') ? 'diamond' : 'circle')) } },
        description: { field: 'what' },
      },
    });
  }
  if (missing.length) {
    // drawn in a strip above the plot: they have no latency
    layers.push({
      data: { name: 'missing', values: missing.map((m) => ({ ...m, t: m.tMs / 1000 })) },
      mark: { type: 'point', shape: 'cross', size: 40, color: '#d62728', filled: true, clip: false, yOffset: -8 },
      encoding: { x, y: { value: 0 }, description: { field: 'what' } },
    });
  }
  layers.push(...faults.filter((l) => !('mark' in l && typeof l.mark === 'object' && l.mark.type === 'rect')));
  const subtitle = missing.length
    ? `✕ along the top: ${missing.filter((m) => m.series === 'never acked').length} update(s) never acked, ${missing.filter((m) => m.series === 'never delivered').length} delivery(ies) never made`
    : undefined;
  return {
    id: `latency-time-${run.label}`,
    title,
    spec: {
      $schema: SCHEMA,
      title: subtitle ? { text: title, subtitle, subtitleColor: '#d62728', subtitleFontSize: 11 } : title,
      width: plotWidth,
      height: 210,
      config: CONFIG,
      layer: layers,
    },
  };
}

/**
 * Renders a Vega-Lite spec to an SVG string with a headless Vega View (no DOM, no network). Vega's
 * SVG keeps each mark's tooltip only as an aria-label; it is added as a <title>, so the browser shows
 * it on hover without any script.
 */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new View(parse(compiled), { renderer: 'none' });
  try {
    // two decimals are plenty for pixel coordinates; Vega writes sixteen
    const svg = (await view.toSVG()).replace(/(\d\.\d\d)\d+/g, '$1');
    return svg.replace(/<(path|circle|rect|line|text)([^>]*?)aria-label="([^"]*)"([^>]*?)\/>/g, (_m, tag: string, a: string, label: string, b: string) => `<${tag}${a}aria-label="${label}"${b}><title>${label}</title></${tag}>`);
  } finally {
    view.finalize();
  }
}
