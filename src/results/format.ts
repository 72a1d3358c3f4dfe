/**
 * The on-disk format of experiment output, version RUN_FORMAT_VERSION. Everything that reads run
 * folders (the terminal table, report.md, the HTML report) reads these types and nothing else.
 *
 * ```
 * lab/runs/<YYYYMMDD-HHMMSS>-<experiment>/      a sweep (`--out DIR` overrides the location)
 *   experiment.yaml                              the experiment file as given
 *   summary.json        SweepSummary             every run's metrics + the comparison table
 *   summary.csv                                  one row per run (condition, repetition, metrics)
 *   report.md                                    the comparison table in Markdown
 *   <condition>-r<k>/                            one run (k = 1…repetitions)
 *     manifest.json     RunManifest              experiment as resolved, topology, backend, images,
 *                                                versions, host, seed, git commit, timeline as played
 *     metrics.json      RunMetrics               what the comparison is made of
 *     conditions.json   ConditionSnapshot[]      conditions in force, read from the kernel, at the
 *                                                start and after each timeline step
 *     nodes/<node>/stdout.log                    the program's human output (container stdout)
 *     nodes/<node>/stderr.log
 *     nodes/<node>/events.ndjson                 the program's events (src/programs/events.ts)
 *     nodes/<node>/files/<name>                  files the program wrote: mcast `delivered.txt`,
 *                                                peer server `server.log`
 * ```
 *
 * Timestamps inside events are epoch ms (host clock; containers share it). `t0` in the manifest
 * is the epoch ms at which the timeline started, so `event.ts - t0` places an event on it.
 */
import type { Action, NemesisSpec, NetworkAction } from '../conditions/index.js';

/*
 * The experiment as a run records it: the experiment file, resolved (src/experiment parses files
 * into these types; everything that reads run folders reads them from here).
 */

export const PROGRAMS = ['echo', 'peer', 'mcast'] as const;
export type ProgramName = (typeof PROGRAMS)[number];

export interface WorkloadItem {
  node: string;
  /** Program to run; absent → the node runs what its topology kind runs. */
  program?: ProgramName;
  /** Arguments; absent → the topology's arguments. */
  args?: string[];
  startMs: number;
}

export interface TimelineStep {
  atMs: number;
  action: Action;
  /** The line as written (for logs, manifests and reports). */
  text: string;
}

export interface Condition {
  name: string;
  /** Applied before the workload starts. */
  actions: NetworkAction[];
  /** The experiment's timeline and the condition's own, sorted by time. */
  timeline: TimelineStep[];
  /** Nemesis schedules (the experiment's and the condition's); each run expands them with its own seed. */
  nemesis?: NemesisSpec[];
}

export type TopologyRef = { kind: 'file'; file: string } | { kind: 'inline'; value: Record<string, unknown> };

export interface Experiment {
  /** The experiment file (absolute), or a label for text given without a file. */
  file: string;
  name: string;
  description?: string;
  seed: number;
  topology: TopologyRef;
  workload: WorkloadItem[];
  durationMs: number;
  repetitions: number;
  conditions: Condition[];
}

export const RUN_FORMAT_VERSION = 1;

export const SWEEP_FILES = {
  summaryJson: 'summary.json',
  summaryCsv: 'summary.csv',
  reportMd: 'report.md',
  experiment: 'experiment.yaml',
} as const;

export const RUN_FILES = {
  manifest: 'manifest.json',
  metrics: 'metrics.json',
  conditions: 'conditions.json',
  nodesDir: 'nodes',
  stdout: 'stdout.log',
  stderr: 'stderr.log',
  events: 'events.ndjson',
  filesDir: 'files',
} as const;

/** `<condition>-r<k>`: the folder of repetition k (1-based) of a condition. */
export function runDirName(condition: string, repetition: number): string {
  return `${condition}-r${repetition}`;
}

/**
 * How a run ended. `invalid`: it ran to the end, but a condition it was to run under was lost on
 * the way (see `RunManifest.invalid`), so its numbers describe another experiment; `interrupted`:
 * Ctrl-C; `failed`: acklab could not set it up or play it.
 */
export type RunStatus = 'ok' | 'invalid' | 'failed' | 'interrupted';

/** A condition that stopped holding during a run: when (offset from t0) and why. */
export interface ConditionLoss {
  atMs: number;
  reason: string;
}

/**
 * How one program ended. `completed`: exited 0 with its summary; `incomplete`: wrote its summary
 * but says it could not finish (lost connection, undelivered messages); `crashed`: no summary
 * (killed, exception) — its logs say why; `running`: still up when the run was collected (servers
 * are stopped by acklab at the end, so only a node that ignored the stop is left so).
 */
export type NodeStatus = 'completed' | 'incomplete' | 'crashed' | 'running';

export interface NodeRecord {
  name: string;
  kind: string;
  containerId: string;
  addresses: Record<string, string>;
  command: string[];
  /** Container exit code; null when it had not exited. */
  exitCode: number | null;
  /** Paths relative to the run folder. */
  files: { stdout: string; stderr: string; events: string; extra: string[] };
}

/** When one node switched for a step (offsets from t0). */
export interface NodeSwitch {
  /** When the node began (its agent's timer fired, or acklab called the engine). */
  firedAtMs: number;
  /** When the node's kernel state (or container state) had changed. */
  switchedAtMs: number;
  ok: boolean;
  error?: string;
}

export interface TimelineRecord {
  /** Planned offset from t0 (the step's due time). */
  atMs: number;
  /** Actual offset from t0 when the step began on its first node. */
  startedAtMs: number | null;
  /** Actual offset from t0 when the step was in force on its last node; null if it failed or never ran. */
  appliedAtMs: number | null;
  /** Per node it touches: when it switched there. */
  nodes?: Record<string, NodeSwitch>;
  /** Last node's switch minus the first's (ms): how long the step was half in force. */
  spreadMs?: number | null;
  text: string;
  step: TimelineStep;
  ok: boolean;
  error?: string;
}

export interface HostFacts {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  cpus: number;
  memoryBytes: number;
}

export interface RunManifest {
  formatVersion: typeof RUN_FORMAT_VERSION;
  kind: 'acklab-run';
  runId: string;
  experiment: Experiment;
  condition: Condition;
  repetition: number;
  /** The run's own seed, derived from the experiment seed, the condition and the repetition. */
  seed: number;
  /** The resolved topology (src/topology Topology) the lab was started from. */
  topology: unknown;
  /** Which impairment backend was used (netem or userspace); null when no condition needed one. */
  backend: string | null;
  images: Record<string, string>;
  versions: { acklab: string; node: string; docker: string | null };
  host: HostFacts;
  gitCommit: string | null;
  status: RunStatus;
  error?: string;
  /** Conditions that stopped holding during the run (status `invalid`); absent or empty when all held. */
  invalid?: ConditionLoss[];
  startedAt: string;
  endedAt: string;
  /** Epoch ms of the timeline's zero (the workload was started). */
  t0: number | null;
  nodes: NodeRecord[];
  timeline: TimelineRecord[];
}

/** What was in force, as read back from the kernel (the impairment layer's read-back), at one moment. */
export interface ConditionSnapshot {
  /** "start" or the timeline step's text. */
  label: string;
  atMs: number;
  /** Per node, what the impairment layer read back; `error` when it could not be read. */
  state: unknown;
  error?: string;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

export interface PeerClientMetrics {
  node: string;
  status: NodeStatus;
  exitCode: number | null;
  reason: string | null;
  updatesSent: number;
  acksReceived: number;
  /** acksReceived / updatesSent; null when nothing was sent. */
  ackRatio: number | null;
  ackRttMs: Percentiles;
  connectionsMade: number;
  connectionsLost: number;
}

export interface McastNodeMetrics {
  node: string;
  id: number | null;
  status: NodeStatus;
  exitCode: number | null;
  sent: number;
  delivered: number;
  /** Messages it received or expected but did not deliver by the end. */
  undelivered: number;
  acksReceived: number;
  deliveryLatencyMs: Percentiles;
}

/**
 * The total-order check (src/programs/mcast/check-order.ts over the delivered files). `complete: false`: the
 * peers agree on a common prefix but not all delivered everything (e.g. a partition that did not
 * heal in time) — the order holds, the delivery did not finish.
 */
export type OrderCheck =
  | { ok: true; delivered: number; complete: boolean }
  | { ok: false; firstDivergence: string; problems: string[] };

export interface RunMetrics {
  formatVersion: typeof RUN_FORMAT_VERSION;
  condition: string;
  repetition: number;
  status: RunStatus;
  /** True when any workload program crashed: its numbers are not comparable, its logs say why. */
  crashed: boolean;
  problems: string[];
  peer: {
    clients: PeerClientMetrics[];
    /** Totals over all clients of the run. */
    updatesSent: number;
    acksReceived: number;
    ackRatio: number | null;
    /** Over every ack of every client (from the events). */
    ackRttMs: Percentiles;
    connectionsLost: number;
  } | null;
  mcast: {
    nodes: McastNodeMetrics[];
    sent: number;
    delivered: number;
    undelivered: number;
    acksReceived: number;
    deliveryLatencyMs: Percentiles;
    order: OrderCheck;
  } | null;
}

/** One ack round trip of a peer client: when the ack arrived (epoch ms) and its RTT. */
export interface RttPoint {
  node: string;
  ts: number;
  rttMs: number;
}

/** One mcast delivery: by which node, when (epoch ms), of which message, and its latency from the sender's send. */
export interface DeliveryPoint {
  node: string;
  ts: number;
  sender: number;
  seq: number;
  latencyMs: number;
}

/** One ack received (epoch ms). */
export interface AckPoint {
  series: 'peer acks' | 'mcast acks';
  node: string;
  ts: number;
}

/** A run's per-item series (for charts): recomputed from the events with the metrics, not stored. */
export interface RunSeries {
  rtts: RttPoint[];
  deliveries: DeliveryPoint[];
  acks: AckPoint[];
}

/** min / median / max over repetitions (one value when repetitions = 1); null values are left out. */
export interface Spread {
  n: number;
  min: number | null;
  median: number | null;
  max: number | null;
}

export interface ComparisonColumn {
  key: string;
  label: string;
  unit: '' | 'ms' | '%';
}

export interface ComparisonRow {
  condition: string;
  runs: number;
  /** Runs per status, and how many crashed. */
  ok: number;
  crashed: number;
  cells: Record<string, Spread>;
  /** Order check over the condition's runs: "pass", or the first failure. */
  order: string | null;
}

export interface ComparisonTable {
  columns: ComparisonColumn[];
  rows: ComparisonRow[];
}

/** pass / fail / invalid: see src/results/verdict.ts for what each means and how it is judged. */
export type Verdict = 'pass' | 'fail' | 'invalid';

export interface CheckResult {
  /** run, conditions, programs, total-order, mcast-delivery, acks */
  name: string;
  verdict: Verdict;
  /** One line: why it passed (what accounts for a shortfall) or what failed. */
  reason: string;
}

export interface RunVerdict {
  verdict: Verdict;
  checks: CheckResult[];
}

export interface SweepRun {
  dir: string;
  condition: string;
  repetition: number;
  status: RunStatus;
  metrics: RunMetrics | null;
  /** The run's checks (src/results/verdict.ts); absent only when the run could not be read back. */
  verdict?: RunVerdict;
}

export interface SweepSummary {
  formatVersion: typeof RUN_FORMAT_VERSION;
  kind: 'acklab-sweep';
  experiment: string;
  file: string;
  seed: number;
  repetitions: number;
  startedAt: string;
  endedAt: string;
  interrupted: boolean;
  runs: SweepRun[];
  table: ComparisonTable;
  /** The worst run's verdict (a run that could not be read back is invalid). */
  verdict: Verdict;
}
