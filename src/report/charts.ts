/**
 * The report's charts as Vega-Lite specs (pure builders from html-data.ts's data), rendered to SVG
 * in Node with Vega's headless View, so report.html needs no script and no network to show them.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ComparisonTable } from '../results/index.js';
import { partitionBands, type ReportData, type RunReport } from './html-data.js';

export interface ChartSpec {
  id: string;
  title: string;
  spec: TopLevelSpec;
}

const CONFIG = {
  font: 'sans-serif',
  background: 'white',
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 13 },
};

const usableRuns = (data: ReportData) => data.runs.filter((r) => r.usable && r.metrics);
const conditionOrder = (table: ComparisonTable) => table.rows.map((r) => r.condition);

/** Acks received per condition: the median bar with the min–max rule of the table, and every repetition as a dot. */
export function acksPerConditionSpec(data: ReportData, part: 'peer' | 'mcast'): ChartSpec | null {
  const key = part === 'peer' ? 'peer.acksReceived' : 'mcast.acksReceived';
  const runs = usableRuns(data).flatMap((r) => {
    const v = part === 'peer' ? r.metrics!.peer?.acksReceived : r.metrics!.mcast?.acksReceived;
    return v == null ? [] : [{ condition: r.condition, run: r.label, acks: v }];
  });
  const spreads = data.table.rows.flatMap((row) => {
    const s = row.cells[key];
    return s && s.n > 0 ? [{ condition: row.condition, min: s.min, median: s.median, max: s.max, n: s.n }] : [];
  });
  if (spreads.length === 0) return null;
  const x = { field: 'condition', type: 'nominal' as const, sort: conditionOrder(data.table), title: 'condition', axis: { labelAngle: -30, labelLimit: 160 } };
  const title = part === 'peer' ? 'peer: acks received per condition' : 'mcast: acks received per condition (all nodes)';
  return {
    id: `acks-${part}`,
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      width: { step: 70 },
      height: 220,
      config: CONFIG,
      layer: [
        {
          data: { name: 'spread', values: spreads },
          mark: { type: 'bar', color: part === 'peer' ? '#4c78a8' : '#54a24b', opacity: 0.75 },
          encoding: { x, y: { field: 'median', type: 'quantitative', title: 'acks (median; min–max)' } },
        },
        {
          data: { name: 'spread', values: spreads },
          mark: { type: 'rule', strokeWidth: 2 },
          encoding: { x, y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } },
        },
        {
          data: { name: 'runs', values: runs },
          mark: { type: 'point', filled: true, color: 'black', size: 30 },
          encoding: { x, y: { field: 'acks', type: 'quantitative' }, tooltip: [{ field: 'run' }, { field: 'acks' }] },
        },
      ],
    },
  };
}

/** Ack round trips per condition: a box plot (min–max whiskers) of every ack of the condition's usable runs. */
export function rttSpec(data: ReportData): ChartSpec | null {
  const values = usableRuns(data).flatMap((r) => r.rtts.map((rttMs) => ({ condition: r.condition, run: r.label, rttMs })));
  if (values.length === 0) return null;
  const positive = values.every((v) => v.rttMs > 0);
  const lo = Math.min(...values.map((v) => v.rttMs));
  const hi = Math.max(...values.map((v) => v.rttMs));
  // loopback (~1 ms) and 200 ms delay in one chart: a log axis keeps both boxes visible
  const log = positive && hi / lo > 20;
  const title = 'peer: ack round-trip time per condition';
  return {
    id: 'rtt',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      width: { step: 70 },
      height: 240,
      config: CONFIG,
      data: { name: 'rtts', values },
      mark: { type: 'boxplot', extent: 'min-max', size: 28 },
      encoding: {
        x: { field: 'condition', type: 'nominal', sort: conditionOrder(data.table), axis: { labelAngle: -30, labelLimit: 160 } },
        y: { field: 'rttMs', type: 'quantitative', title: `ack RTT (ms${log ? ', log scale' : ''})`, scale: log ? { type: 'log' } : { zero: true } },
      },
    },
  };
}

/** Acks received over the run's time, with the fault timeline marked (rules) and partitions shaded. */
export function acksOverTimeSpec(run: RunReport): ChartSpec | null {
  if (run.acksOverTime.length === 0) return null;
  const end = Math.max(...run.acksOverTime.map((p) => p.tMs), ...run.marks.map((m) => m.atMs));
  const bands = run.partitions.flatMap(partitionBands).map((b) => ({ from: b.fromMs / 1000, to: (b.toMs ?? end) / 1000, text: b.text, changing: b.changing }));
  const spans = bands.filter((b) => !b.changing);
  const changing = bands.filter((b) => b.changing);
  // labels stagger down so that close steps (partition, heal) do not print over each other
  const label = (m: RunReport['marks'][number]) =>
    !m.applied ? `${m.text} (not applied)` : m.atMs - m.plannedMs >= 100 ? `${m.text} (in force ${(m.atMs / 1000).toFixed(1)}s)` : m.text;
  const marks = run.marks.map((m, i) => ({ t: m.atMs / 1000, text: label(m), kind: m.kind, y: 10 + 12 * (i % 3) }));
  const title = `${run.label}: acks received over time`;
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [];
  if (changing.length > 0) {
    // the rules were being changed: lighter, the partition may or may not have been in force yet
    layers.push({
      data: { name: 'partition-changes', values: changing },
      mark: { type: 'rect', color: '#d62728', opacity: 0.05, stroke: '#d62728', strokeDash: [2, 2], strokeOpacity: 0.4 },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
    });
  }
  if (spans.length > 0) {
    layers.push({
      data: { name: 'partitions', values: spans },
      mark: { type: 'rect', color: '#d62728', opacity: 0.12 },
      encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
    });
  }
  layers.push({
    data: { name: 'acks', values: run.acksOverTime.map((p) => ({ ...p, t: p.tMs / 1000 })) },
    mark: { type: 'line', interpolate: 'step-after', point: { size: 12 } },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'seconds since t0', scale: { domainMin: 0 } },
      y: { field: 'cumulative', type: 'quantitative', title: 'acks received so far' },
      // legend below: the timeline labels run to the right edge of the plot
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['peer acks', 'mcast acks'], range: ['#4c78a8', '#54a24b'] }, legend: { orient: 'bottom' } },
    },
  });
  if (marks.length > 0) {
    layers.push(
      {
        data: { name: 'marks', values: marks },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#333' },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
      {
        data: { name: 'marks', values: marks },
        mark: { type: 'text', align: 'left', dx: 3, dy: -4, baseline: 'bottom', angle: 0, fontSize: 10, color: '#333' },
        encoding: { x: { field: 't', type: 'quantitative' }, y: { field: 'y', type: 'quantitative', scale: null }, text: { field: 'text' } },
      },
    );
  }
  return {
    id: `acks-time-${run.label}`,
    title,
    spec: { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: 520, height: 200, config: CONFIG, layer: layers },
  };
}

/** mcast delivery latency (send → delivery) per delivering node, one panel per condition. */
export function deliveryLatencySpec(data: ReportData): ChartSpec | null {
  const values = usableRuns(data).flatMap((r) => r.deliveryLatencies.map((d) => ({ condition: r.condition, run: r.label, node: d.node, latencyMs: d.latencyMs })));
  if (values.length === 0) return null;
  const title = 'mcast: delivery latency per node (multicast → delivery)';
  return {
    id: 'delivery-latency',
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title,
      config: CONFIG,
      data: { name: 'latencies', values },
      facet: { column: { field: 'condition', type: 'nominal', sort: conditionOrder(data.table), title: null } },
      // ms under a baseline, seconds under a partition: each condition gets its own axis
      resolve: { scale: { y: 'independent' } },
      spec: {
        width: { step: 45 },
        height: 220,
        mark: { type: 'boxplot', extent: 'min-max', size: 22 },
        encoding: {
          x: { field: 'node', type: 'nominal', axis: { labelAngle: 0 } },
          // not "nice": a -1 ms latency (see html.ts) must not stretch the axis to -1000
          y: { field: 'latencyMs', type: 'quantitative', title: 'delivery latency (ms)', scale: { nice: false, zero: true } },
          color: { field: 'node', type: 'nominal', legend: null },
        },
      },
    },
  };
}

/** Renders a Vega-Lite spec to an SVG string with a headless Vega View (no DOM, no network). */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new View(parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
