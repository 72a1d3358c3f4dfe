/**
 * The topology of an experiment run: loaded (file or inline) and validated by src/topology, then
 * made into one isolated lab per run (its own name, so its own containers and networks) whose
 * node commands write events and files where the collector finds them.
 */
import { AcklabError } from '../common/index.js';
import { loadTopology, parseTopology, type ResolveOptions, type Topology, type TopologyNode } from '../topology/index.js';
import type { Experiment, WorkloadItem } from '../results/index.js';
import type { YamlSource } from './yaml-source.js';
import { flagValue, programRole } from '../results/index.js';

/** Where programs write inside a container (/tmp: writable by the image's non-root user). */
export const CONTAINER_OUT = {
  events: '/tmp/acklab-events.ndjson',
  delivered: '/tmp/acklab-delivered.jsonl',
  serverLog: '/tmp/acklab-server.log',
  /** The start gate: gated programs wait for this file (see `gateCommand`). */
  go: '/tmp/acklab-go',
  /** One line per start of the node's program (a timeline may start it again). */
  started: '/tmp/acklab-started',
  /** Outputs of the program's earlier starts, one numbered folder each (1 = the first start). */
  earlier: '/tmp/acklab-earlier',
} as const;

/**
 * Shell that keeps what an earlier start of the program wrote: when the node is started again (a
 * timeline's `start` or `restart`), its /tmp/acklab-* outputs are moved to earlier/<n>/ before the
 * program would overwrite them. True when this is the first start.
 */
const KEEP_EARLIER = [
  `if [ -e ${CONTAINER_OUT.started} ]; then`,
  `n=$(wc -l < ${CONTAINER_OUT.started}); mkdir -p ${CONTAINER_OUT.earlier}/$n;`,
  `for f in /tmp/acklab-*; do case "$f" in ${CONTAINER_OUT.go}|${CONTAINER_OUT.started}|${CONTAINER_OUT.earlier}) ;; *) mv "$f" ${CONTAINER_OUT.earlier}/$n/ ;; esac; done;`,
  `first=no; else first=yes; fi; echo start >> ${CONTAINER_OUT.started};`,
].join(' ');

/**
 * Wraps argv so the program starts only once the runner creates the go file (after the lab is up
 * and the condition is in force), then after its start offset (only the first time: a node started
 * again by the timeline runs at once). sh's $0 is the first argument after the script (the
 * offset); "$@" is the program's argv.
 */
export function gateCommand(argv: string[], startMs: number): string[] {
  const script = `until [ -e ${CONTAINER_OUT.go} ]; do sleep 0.05; done; ${KEEP_EARLIER} if [ $first = yes ]; then sleep "$0"; fi; exec "$@"`;
  return ['sh', '-c', script, String(startMs / 1000), ...argv];
}

/** An ungated program on acklab's image, wrapped only so that a start again keeps the earlier outputs. */
export function keepEarlierCommand(argv: string[]): string[] {
  return ['sh', '-c', `${KEEP_EARLIER} exec "$@"`, 'acklab-node', ...argv];
}

/**
 * Loads the experiment's topology. An inline topology is validated in place: the rest of the
 * experiment file is blanked out (same line and column numbers), so errors point into the
 * experiment file.
 */
export async function experimentTopology(experiment: Experiment, source?: YamlSource, options: ResolveOptions = {}): Promise<Topology> {
  if (experiment.topology.kind === 'file') return loadTopology(experiment.topology.file, options);
  const node = source?.doc.get('topology', true) as { range?: [number, number, number] } | undefined;
  if (source && node?.range) {
    const [start, end] = node.range;
    const text = source.text.replace(/[^\n]/g, (ch, offset: number) => (offset >= start && offset < end ? ch : ' '));
    return parseTopology(text, experiment.file, options);
  }
  const { stringify } = await import('yaml');
  return parseTopology(stringify(experiment.topology.value), `${experiment.file} (inline topology)`, options);
}

/** Files a node writes inside its container that the collector copies out (name in the run folder → path). */
export interface NodeOutputs {
  /** Container path of the events file; null when events go to stdout (`--events -`). */
  events: string | null;
  files: Record<string, string>;
}

/** An image's own ENTRYPOINT and CMD (what a node with no command runs), from the engine. */
export interface ImageArgv {
  entrypoint?: string[];
  cmd?: string[];
}

/**
 * The argv a node on an image of its own really runs: the image's ENTRYPOINT followed by the node's
 * command, or by the image's CMD when the node gives none.
 */
export function effectiveArgv(node: TopologyNode, image: ImageArgv): string[] {
  return [...(image.entrypoint ?? []), ...(node.command.length > 0 ? node.command : (image.cmd ?? []))];
}

/** Whether the node runs an image of its own (built from a context, or local), not acklab's node image. */
const ownImage = (node: TopologyNode) => node.image.type !== 'acklab-node';

/** The node's command with the workload applied and acklab's outputs added; its outputs. */
export function instrumentNode(node: TopologyNode, workload: WorkloadItem | undefined): { command: string[]; outputs: NodeOutputs } {
  if (workload?.program && ownImage(node)) {
    throw new AcklabError(`workload for "${node.name}": program: runs acklab's programs, but "${node.name}" (${node.kind}) runs an image of its own; give args: instead`, 2);
  }
  let command = [...node.command];
  if (workload?.program) command = [`acklab-${workload.program}`, ...(workload.args ?? [])];
  else if (workload?.args) command = [...command, ...workload.args];
  const outputs: NodeOutputs = { events: null, files: {} };
  if (node.kind === 'mcast-impl') {
    // the grading contract: the member writes where ACKLAB_EVENTS and ACKLAB_OUT say
    if (node.env.ACKLAB_EVENTS) outputs.events = node.env.ACKLAB_EVENTS;
    if (node.env.ACKLAB_OUT) outputs.files['delivered.jsonl'] = node.env.ACKLAB_OUT;
    return { command, outputs };
  }
  const role = programRole(command);
  if (role !== 'other') {
    const given = flagValue(command, '--events');
    if (given === undefined) {
      command.push('--events', CONTAINER_OUT.events);
      outputs.events = CONTAINER_OUT.events;
    } else outputs.events = given === '-' ? null : given;
  }
  if (role === 'mcast') {
    const out = flagValue(command, '--out') ?? (command.push('--out', CONTAINER_OUT.delivered), CONTAINER_OUT.delivered);
    outputs.files['delivered.jsonl'] = out;
  }
  if (role === 'peer-server') {
    const log = flagValue(command, '--log') ?? (command.push('--log', CONTAINER_OUT.serverLog), CONTAINER_OUT.serverLog);
    outputs.files['server.log'] = log;
  }
  return { command, outputs };
}

/**
 * Whether a node's program waits for the start gate: every program that can (acklab's node image,
 * and kinds whose images have a shell: the seed's, mcast-impl unless `gate: false`) except servers
 * (they only listen, and clients need them ready), unless a server has a start offset. Custom
 * images are not gated (they may have no shell).
 */
export function isGated(node: TopologyNode, workload: WorkloadItem | undefined): boolean {
  if (!(node.gate ?? node.image.type === 'acklab-node')) return false;
  return node.role !== 'server' || (workload?.startMs ?? 0) > 0;
}

/** Nodes whose image's ENTRYPOINT and CMD runTopology needs (gated, or given workload args, on an image of their own). */
export function nodesNeedingImageArgv(base: Topology, experiment: Experiment): TopologyNode[] {
  const byNode = new Map(experiment.workload.map((w) => [w.node, w]));
  return base.nodes.filter((n) => ownImage(n) && (isGated(n, byNode.get(n.name)) || (byNode.get(n.name)?.args !== undefined && n.command.length === 0)));
}

export interface RunTopology {
  topology: Topology;
  outputs: Map<string, NodeOutputs>;
  /** Nodes whose program waits for the start gate. */
  gated: string[];
}

/**
 * The run's own copy of the topology: a unique lab name (isolation), instrumented commands. Nodes on
 * images of their own that are gated (or get workload args) run the argv their image would have run
 * (`imageArgv`, from nodesNeedingImageArgv), wrapped in the gate with the image's ENTRYPOINT reset.
 */
export function runTopology(base: Topology, experiment: Experiment, labName: string, imageArgv: ReadonlyMap<string, ImageArgv> = new Map()): RunTopology {
  const outputs = new Map<string, NodeOutputs>();
  const byNode = new Map(experiment.workload.map((w) => [w.node, w]));
  const gated: string[] = [];
  const nodes = base.nodes.map((node): TopologyNode => {
    const workload = byNode.get(node.name);
    const own = imageArgv.get(node.name);
    if (!own && ownImage(node) && isGated(node, workload)) throw new Error(`runTopology: node "${node.name}" is gated on an image of its own, but its image's argv was not given`);
    const resolved = own ? { ...node, command: effectiveArgv(node, own), entrypoint: [] } : node;
    if (own && resolved.command.length === 0) {
      throw new AcklabError(`node "${node.name}": its image has no ENTRYPOINT or CMD and the topology gives no command, so there is nothing to run`, 2);
    }
    const { command, outputs: out } = instrumentNode(resolved, workload);
    outputs.set(node.name, out);
    if (!isGated(node, workload)) return { ...resolved, command: node.image.type === 'acklab-node' ? keepEarlierCommand(command) : command };
    gated.push(node.name);
    // a gated program listens only after the gate opens: the lab is ready once its container runs
    return { ...resolved, command: gateCommand(command, workload?.startMs ?? 0), ready: { type: 'started', timeoutMs: node.ready.timeoutMs } };
  });
  return { topology: { ...base, name: labName, nodes }, outputs, gated };
}

/** A lab name for one run: short, DNS-safe, unique per sweep and run. */
export function runLabName(experiment: string, sweepId: string, index: number): string {
  const stem = experiment.replace(/[^a-z0-9-]/g, '-').slice(0, 24).replace(/-+$/, '');
  return `${stem}-${sweepId}-${index + 1}`;
}

