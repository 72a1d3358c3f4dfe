/**
 * A running lab, the handle a test or a script holds (testcontainers' StartedTestContainer is the
 * model): its nodes and addresses; network conditions (`impair`, `partition`, `heal`,
 * `conditions`); process faults (`kill`, `stop`, `start`, `restart`, `pause`, `resume`); a node's
 * files and logs (`copyFrom`, `logs`, `exec`); and `stop()` (also `await using`), which removes it.
 *
 * Options are typed objects checked by the same rules as topology files (src/conditions), and
 * every mistake is reported at once, before anything changes. Nothing is printed: progress goes
 * to the logger given to `Lab.start`, if any.
 *
 * The lab is held by the process that started it — if that process dies, its watchdog removes the
 * lab — until `detach()` says it should outlive it (what `acklab up` does once the lab is ready).
 */
import { AcklabError, silentLogger, type Logger } from '../common/index.js';
import {
  ALL_PEERS,
  ConditionError,
  IMPAIRMENT_KEYS,
  checkPartitionNodes,
  parseImpairment,
  parsePartition,
  partitionCuts,
  type Cut,
  type CutStyle,
  type ImpairmentInput,
  type PartitionSpec,
} from '../conditions/index.js';
import { ensureImages, type ImageTags } from '../images/index.js';
import { type ControllerOptions, type ImpairController, type LabConditions, openControllerFor } from '../impair/index.js';
import type { ExecResult, Runtime } from '../runtime/index.js';
import type { Topology, TopologyLink, TopologyNode } from '../topology/index.js';
import { removeByLabels, type RemovedResources } from './cleanup.js';
import type { OverlaySettle } from './overlay.js';
import { copyRoot, unpackArchive } from './copy.js';
import { markDetached } from './lease.js';
import { toLogOptions, type NodeLogsOptions } from './log-options.js';
import { labSelector, type RunLabels } from './naming.js';
import { runNodeAction, type NodeAction, type NodeActionOptions } from './node-actions.js';

export interface StartedNode {
  name: string;
  kind: string;
  containerId: string;
  containerName: string;
  /** IPv4 address per topology network name. */
  addresses: Record<string, string>;
  spec: TopologyNode;
  /** The engine (its topology name) the node runs on, for a topology that names engines. */
  engine?: string;
}

export interface StartedNetwork {
  name: string;
  dockerName: string;
  id: string;
  subnet: string;
}

/** `lab.impair(from, options)`: the condition's fields (as in a topology `links` entry) and the peer. */
export interface ImpairOptions extends ImpairmentInput {
  /** Only packets to this node (one direction of a link); default: all of `from`'s egress. */
  to?: string;
  /** Removed again after this many ms, by the node's agent (even if this process is gone). */
  forMs?: number;
}

export interface PartitionOptions {
  /** `drop` (default): packets vanish like on a cut cable, TCP retransmits; `reset`: TCP is refused with resets. */
  style?: CutStyle;
  /** Healed again after this many ms, by the nodes' agents. */
  forMs?: number;
}

/** Groups that cannot reach each other (`[['a', 'b'], ['c']]`), or the same as text: `"a,b | c"`, `"a -/-> b"`. */
export type PartitionGroups = readonly (readonly string[])[] | string;

export interface NodeState {
  /** created, running, paused, restarting, exited, dead */
  state: string;
  running: boolean;
  paused: boolean;
  exitCode: number;
}

const IMPAIR_OPTION_KEYS = new Set<string>([...IMPAIRMENT_KEYS, 'to', 'forMs']);

/** `forMs`: how long a condition stays, in ms (the agents' timers cap it at about 24.8 days). */
function checkForMs(forMs: number | undefined, where: string): void {
  if (forMs === undefined) return;
  if (!(Number.isFinite(forMs) && forMs > 0 && forMs <= 2 ** 31 - 1)) {
    throw new ConditionError([{ field: 'forMs', message: `must be a number of milliseconds, > 0 and at most 2147483647 (got ${forMs})` }]).at(where);
  }
}

export class StartedLab implements AsyncDisposable {
  private stopped?: Promise<RemovedResources>;
  private detached?: Promise<void>;

  constructor(
    readonly topology: Topology,
    private readonly run: RunLabels,
    readonly nodes: StartedNode[],
    readonly networks: StartedNetwork[],
    /** Over every engine of the lab (one runtime per engine behind it, when the topology names several). */
    readonly runtime: Runtime,
    private readonly images: ImageTags,
    private readonly leaseImage: string,
    private readonly logger: Logger = silentLogger,
  ) {}

  /** Over several engines: how the overlay networks came to carry traffic between them (set by start). */
  overlay?: OverlaySettle;

  /** The lab instance's name (the topology's unless `start({ name })` said otherwise). */
  get name(): string {
    return this.run.lab;
  }

  get runId(): string {
    return this.run.runId;
  }

  get owner(): string {
    return this.run.owner;
  }

  /** Lets the lab outlive this process (until `acklab down` or `stop()`); idempotent. */
  detach(): Promise<void> {
    this.detached ??= markDetached(this.runtime, this.run, this.leaseImage);
    return this.detached;
  }

  /** Link conditions per direction, for the impairment layer. */
  get links(): TopologyLink[] {
    return this.topology.links;
  }

  node(name: string): StartedNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new AcklabError(`lab "${this.name}" has no node "${name}"; nodes: ${this.nodes.map((x) => x.name).join(', ')}`);
    return n;
  }

  // ---- a node's processes, output and files ----

  /** Runs a command in a running node; never throws for a non-zero exit (see `exitCode`). */
  async exec(node: string, argv: string[]): Promise<ExecResult> {
    await this.requireRunning([node], 'exec');
    return this.runtime.containers.exec(this.node(node).containerId, argv);
  }

  /** A node's output so far (stdout and stderr interleaved, unless `stream` says which); also of an exited node. */
  async logs(node: string, options: NodeLogsOptions = {}): Promise<string> {
    return this.runtime.containers.logs(this.node(node).containerId, toLogOptions(options));
  }

  /** Current state of a node's container and its exit code. */
  async state(node: string): Promise<NodeState> {
    const info = await this.runtime.containers.inspect(this.node(node).containerId);
    return { state: info.state, running: info.running, paused: info.paused, exitCode: info.exitCode };
  }

  /** Waits until the node's program ends; resolves with its exit code. Rejects after `timeoutMs` (default 60 s). */
  async wait(node: string, { timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<number> {
    const id = this.node(node).containerId;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AcklabError(`node "${node}" of lab "${this.name}" was still running after ${timeoutMs / 1000}s`)), timeoutMs);
    });
    try {
      return await Promise.race([this.runtime.containers.wait(id), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Copies PATH out of a node, running or exited, like `docker cp NODE:PATH DEST`: a file or a
   * whole directory; into DEST when DEST is an existing directory, else as DEST. Returns the files written.
   */
  async copyFrom(node: string, sourcePath: string, dest: string): Promise<string[]> {
    const archive = await this.runtime.containers.archiveOut(this.node(node).containerId, sourcePath);
    if (!archive) throw new AcklabError(`node "${node}" of lab "${this.name}" has no ${sourcePath}`);
    return unpackArchive(archive, await copyRoot(sourcePath, dest));
  }

  /** SIGKILL (or `signal`): the program dies at once, as on a crash. */
  kill(node: string, options: Pick<NodeActionOptions, 'signal'> = {}): Promise<void> {
    return this.nodeAction(node, 'kill', options);
  }

  /** Stops the whole lab and removes it (no argument), or stops one node: SIGTERM, SIGKILL after `graceMs` (default 10 s). */
  stop(): Promise<RemovedResources>;
  stop(node: string, options?: Pick<NodeActionOptions, 'graceMs'>): Promise<void>;
  stop(node?: string, options: Pick<NodeActionOptions, 'graceMs'> = {}): Promise<RemovedResources | void> {
    if (node === undefined) {
      this.stopped ??= removeByLabels(this.runtime, labSelector(this.name, this.runId));
      return this.stopped;
    }
    return this.nodeAction(node, 'stop', options);
  }

  /** Starts an exited node again (same container and files; its program starts from the beginning). */
  start(node: string): Promise<void> {
    return this.nodeAction(node, 'start');
  }

  restart(node: string, options: Pick<NodeActionOptions, 'graceMs'> = {}): Promise<void> {
    return this.nodeAction(node, 'restart', options);
  }

  /** Freezes every process of the node: its peers see silence, its TCP connections stay open. */
  pause(node: string): Promise<void> {
    return this.nodeAction(node, 'pause');
  }

  resume(node: string): Promise<void> {
    return this.nodeAction(node, 'resume');
  }

  // ---- network conditions ----

  /**
   * Impairs `from`'s outgoing packets — to one peer (`to`, one direction of a link) or all of its
   * egress — e.g. `{ to: 'server', delay: '100ms', jitter: '10ms', loss: '5%', rate: '1mbit' }`.
   * Replaces what was set before for the same `from` and `to`. The fields and rules are a
   * topology `links` entry's (`jitter must be ≤ delay`, `loss is 0–100 %`, …).
   */
  async impair(from: string, options: ImpairOptions): Promise<void> {
    const unknown = Object.keys(options).filter((k) => !IMPAIR_OPTION_KEYS.has(k));
    if (unknown.length > 0) {
      throw new ConditionError(unknown.map((k) => ({ field: k, message: `unknown option; allowed: to, forMs, ${[...IMPAIRMENT_KEYS].filter((x) => !x.includes('-')).join(', ')}` }))).at(`impair ${from}`);
    }
    const { to = ALL_PEERS, forMs, ...fields } = options;
    checkForMs(forMs, `impair ${from}`);
    const impairment = parseImpairment(fields, to === ALL_PEERS ? `impair ${from}` : `impair ${from} -> ${to}`);
    await this.requireRunning([from], 'impair', { allowPaused: true });
    await this.withController((ctl) => ctl.impair([{ node: from, to, impairment }], forMs === undefined ? {} : { forMs }));
  }

  /**
   * Splits the lab into groups that cannot reach each other (`[['a', 'b'], ['c']]` or `"a,b | c"`),
   * or cuts one direction (`"a -/-> b"`). Adds to cuts already in force. Returns the cuts made.
   */
  async partition(groups: PartitionGroups, options: PartitionOptions = {}): Promise<Cut[]> {
    const spec: PartitionSpec = parsePartition(typeof groups === 'string' ? groups : groups.map((g) => g.join(',')).join(' | '));
    const style = options.style ?? 'drop';
    if (style !== 'drop' && style !== 'reset') throw new ConditionError([{ field: 'style', message: `"${String(style)}" is not one of drop, reset` }]);
    checkForMs(options.forMs, 'partition');
    checkPartitionNodes(spec, this.nodes.map((n) => n.name));
    const cuts = partitionCuts(spec, style);
    await this.requireRunning([...new Set(cuts.flatMap((c) => [c.from, c.to]))], 'partition', { allowPaused: true });
    await this.withController((ctl) => ctl.partition(cuts, options.forMs === undefined ? {} : { forMs: options.forMs }));
    return cuts;
  }

  /** Removes every impairment and cut (no node), or those involving `node`: its egress, impairments towards it, its cuts. */
  async heal(node?: string): Promise<void> {
    if (node !== undefined) this.node(node);
    await this.withController((ctl) => ctl.heal(node));
  }

  /** What is in force, read back from every node's kernel (never from memory). `healthy` is false when a helper died. */
  conditions(): Promise<LabConditions> {
    return this.withController((ctl) => ctl.read());
  }

  /**
   * A new impairment controller of this lab (sidecars made on demand from the shaper image). It
   * holds control streams to the nodes' agents: `close()` it when done (the conditions stay in force).
   */
  controller(options: ControllerOptions = {}): ImpairController {
    const shaperImage = async () => this.images.shaper || (await ensureImages({ runtime: this.runtime, log: (l) => this.logger.info(`images: ${l}`) })).shaper;
    const nodes = this.nodes.map((n) => ({
      name: n.name,
      containerId: n.containerId,
      addresses: Object.values(n.addresses),
      runId: this.runId,
      owner: this.run.owner,
      holder: this.run.holder,
    }));
    return openControllerFor(this.runtime, this.name, nodes, { log: (l) => this.logger.info(l), ...options, shaperImage });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // ---- internals ----

  private async nodeAction(node: string, action: NodeAction, options: NodeActionOptions = {}): Promise<void> {
    const target = { lab: this.name, node, containerId: this.node(node).containerId };
    const { started } = await runNodeAction(this.runtime.containers, target, action, options);
    this.logger.info(`${action} ${node}`);
    if (started) await this.afterNodeStart(node);
  }

  /**
   * After a node was started or restarted: the engine may have given it another address, and it
   * has a new network namespace, so its conditions are handed to a new sidecar there (the
   * controller's nodeRestarted) and every other node learns the address.
   */
  private async afterNodeStart(node: string): Promise<void> {
    const n = this.node(node);
    const info = await this.runtime.containers.inspect(n.containerId);
    for (const net of this.networks) {
      const ip = info.addresses[net.dockerName];
      if (ip !== undefined && n.spec.networks.includes(net.name)) n.addresses[net.name] = ip;
    }
    await this.withController((ctl) => ctl.nodeRestarted(node, { containerId: n.containerId, addresses: Object.values(n.addresses) }));
  }

  /** Runs `fn` with a controller and closes its control streams after, so nothing keeps the process alive. */
  private async withController<T>(fn: (ctl: ImpairController) => Promise<T>): Promise<T> {
    const ctl = this.controller();
    try {
      return await fn(ctl);
    } finally {
      ctl.close();
    }
  }

  /** Refuses (naming the state) when a node is not running: its namespace (or, paused, its processes) cannot be reached. */
  private async requireRunning(nodes: readonly string[], what: string, { allowPaused = false } = {}): Promise<void> {
    const states = await Promise.all(nodes.map(async (n) => [n, await this.state(n)] as const));
    const down = states.filter(([, s]) => !s.running || (s.paused && !allowPaused));
    if (down.length === 0) return;
    const says = down.map(([n, s]) => `node "${n}" of lab "${this.name}" is ${s.paused ? 'paused' : s.state === 'exited' ? `exited (exit code ${s.exitCode})` : s.state}`);
    throw new AcklabError(`${says.join('; ')}: ${what} needs it running`);
  }
}
