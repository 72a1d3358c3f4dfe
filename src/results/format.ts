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
  /** Outputs of a node's earlier starts (a timeline that started it again): earlier/<n>/. */
  earlierDir: 'earlier',
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
/** `killed`: ended by the run's own process fault (kill, stop) before it could write a summary. */
export type NodeStatus = 'completed' | 'incomplete' | 'crashed' | 'killed' | 'running';

export interface NodeRecord {
  name: string;
  kind: string;
  containerId: string;
  addresses: Record<string, string>;
  command: string[];
  /** The node's environment as the topology set it (an mcast-impl member's ACKLAB_* variables); absent in older runs. */
  env?: Record<string, string>;
  /** The engine (its topology name) the node ran on, for a topology that names engines. */
  engine?: string;
  /** Container exit code; null when it had not exited. */
  exitCode: number | null;
  /** Paths relative to the run folder. */
  files: { stdout: string; stderr: string; events: string; extra: string[] };
  /**
   * How often the node's program was started, when the timeline started it again; the outputs of
   * the earlier starts are under nodes/<node>/earlier/<n>/ (the metrics count the last start's).
   */
  starts?: number;
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
  /**
   * A lab over several engines: how its overlay networks came to carry traffic before the run —
   * the paths between engines probed, and when the last one answered (ms after the nodes were ready).
   */
  overlay?: { paths: number; settledMs: number };
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
  /** Peers it gave up on (`peer_lost`: connection closed, or silent for --grace), with when and why. */
  peersLost: { peer: number; reason: string; ts: number }[];
}

/**
 * The total-order check (src/programs/mcast/check-order.ts over the delivered files). `complete: false`: the
 * peers agree on a common prefix but not all delivered everything (e.g. a partition that did not
 * heal in time) — the order holds, the delivery did not finish.
 */
export type OrderCheck =
  | { ok: true; delivered: number; complete: boolean }
  | { ok: false; firstDivergence: string; problems: string[] };

/** Which program ran a side of a peer pair: acklab's, or the seed's Twisted one (docker/twisted). */
export type PeerProgram = 'acklab' | 'twisted';

/**
 * One client and the server it talked to, each side's counts as that side saw them, and one line per
 * difference saying why (src/results/pairs.ts). The seed's programs write no events: their counts come
 * from their stdout (src/results/seed.ts). null: that side's program does not say.
 */
export interface PeerPairMetrics {
  client: string;
  server: string;
  clientProgram: PeerProgram;
  serverProgram: PeerProgram;
  /** `<update>`s the client sent. */
  updatesSent: number;
  /** `<update>`s that reached the server, and in how many reads (the seed's server prints each read). */
  updatesReceived: number | null;
  serverReads: number | null;
  /** `<Ack>`s the server sent. */
  acksSent: number | null;
  /** `<Ack>`s that reached the client. */
  acksReceived: number | null;
  /** What the client reports as acks received: acklab's count of its acks, or the seed's "Received N acks" (one per read). */
  acksCounted: number;
  /** The client's reads (the seed's client prints each one); null for acklab's. */
  clientReads: number | null;
  /** The client counted the `<connection up>` greeting as an ack (the seed's client does). */
  greetingCounted: boolean;
  /**
   * updatesSent − acksCounted split by cause: the seed's counting quirks (one ack per read at its
   * server, every read counted at its client) and what the transport lost or still held at the end.
   */
  shortfall: { total: number; quirks: number; transport: number };
  /** One line per difference between the counts, saying why; or one line saying they match. */
  explanations: string[];
}

/**
 * Every message accounted for (src/results/grading.ts): nothing delivered that nobody sent, every
 * delivery carries its sender's timestamp, and a member that said it was complete (exit 0) delivered
 * everything that was sent.
 */
export interface AccountedCheck {
  ok: boolean;
  /** Messages multicast (from the members' `mcast_sent` events; null when none wrote events). */
  sent: number | null;
  /** The first problems, most telling first; empty when ok. */
  problems: string[];
  /** What was not delivered and who reported it (a member that ended incomplete), when ok. */
  notes: string[];
}

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
    /** ACK arrivals there would be if every multicast message reached every member: sent × (members − 1)². */
    acksExpected: number;
    /** Peers given up on, summed over the members (a peer lost by two members counts twice). */
    peersLost: number;
    /** acksReceived / acksExpected; null when nothing was sent. */
    ackRatio: number | null;
    deliveryLatencyMs: Percentiles;
    order: OrderCheck;
    /** Every message accounted for; absent in older runs. */
    accounted?: AccountedCheck;
  } | null;
  /** Each peer client with its server, both sides' counts side by side; absent in older runs. */
  pairs?: PeerPairMetrics[];
}

/** One ack round trip of a peer client: update (conn, seq) sent at `sentTs`, its ack arrived at `ts` (epoch ms), after `rttMs`. */
export interface RttPoint {
  node: string;
  conn: number;
  seq: number;
  sentTs: number;
  ts: number;
  rttMs: number;
}

/** An update a peer client sent that was never acked (within the run). */
export interface UnackedUpdate {
  node: string;
  conn: number;
  seq: number;
  sentTs: number;
}

/** One mcast delivery: by which node, when (epoch ms), of which message sent at `sentTs`, and its latency from that send. */
export interface DeliveryPoint {
  node: string;
  ts: number;
  sender: number;
  seq: number;
  sentTs: number;
  latencyMs: number;
}

/** A message multicast at `sentTs` that `node` never delivered (within the run). */
export interface UndeliveredPoint {
  node: string;
  sender: number;
  seq: number;
  sentTs: number;
}

/** One step of an empirical CDF: `fraction` of the values are ≤ `value`. */
export interface CdfPoint {
  value: number;
  fraction: number;
}

/** The latency CDF of one condition, over the items of its usable runs. */
export interface ConditionCdf {
  condition: string;
  metric: 'ack-rtt' | 'delivery-latency';
  /** Items it is made of (acks, deliveries), and runs they came from. */
  n: number;
  runs: number;
  points: CdfPoint[];
}

/** One ack received (epoch ms). */
export interface AckPoint {
  series: 'peer acks' | 'mcast acks';
  node: string;
  ts: number;
}

/** A run's per-item series (for charts): recomputed from the events with the metrics, not stored. */
export interface RunSeries {
  /** Every acked update, in ack order. */
  rtts: RttPoint[];
  /** Every update that got no ack, in send order. */
  unacked: UnackedUpdate[];
  /** Every mcast delivery whose send was logged. */
  deliveries: DeliveryPoint[];
  /** Every (node, message) pair multicast but not delivered by that node. */
  undelivered: UndeliveredPoint[];
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
  /** Runs whose numbers count; runs that failed or whose workload crashed; runs that lost a condition (`invalid`). */
  ok: number;
  crashed: number;
  invalid: number;
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
  /** run, conditions, programs, total-order, accounted, mcast-delivery, acks */
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
