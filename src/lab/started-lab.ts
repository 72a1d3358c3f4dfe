/**
 * A running lab: its nodes' containers and addresses, exec, logs, and stop (also `await using`).
 * It is held by the process that started it — if that process dies, its watchdog removes the lab —
 * until `detach()` says the lab should outlive it (what `acklab up` does once the lab is ready).
 */
import { AcklabError } from '../common/index.js';
import { ensureImages, type ImageTags } from '../images/index.js';
import { type ControllerOptions, type ImpairController, openControllerFor } from '../impair/index.js';
import type { ExecResult, Runtime } from '../runtime/index.js';
import type { Topology, TopologyLink, TopologyNode } from '../topology/index.js';
import { removeByLabels, type RemovedResources } from './cleanup.js';
import { markDetached } from './lease.js';
import { labSelector, type RunLabels } from './naming.js';

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
  ) {}

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
    if (!n) throw new AcklabError(`lab "${this.name}" has no node "${name}"; nodes: ${this.nodes.map((x) => x.name).join(', ')}`, 2);
    return n;
  }

  exec(node: string, argv: string[]): Promise<ExecResult> {
    return this.runtime.containers.exec(this.node(node).containerId, argv);
  }

  logs(node: string, options: { tail?: number } = {}): Promise<string> {
    return this.runtime.containers.logs(this.node(node).containerId, options);
  }

  /** Current state of a node's container (running, exited, …) and exit code. */
  async state(node: string): Promise<{ state: string; running: boolean; exitCode: number }> {
    const info = await this.runtime.containers.inspect(this.node(node).containerId);
    return { state: info.state, running: info.running, exitCode: info.exitCode };
  }

  /** The impairment controller of this lab (sidecars made on demand from the shaper image). */
  controller(options: ControllerOptions = {}): ImpairController {
    const shaperImage = async () => this.images.shaper || (await ensureImages({ runtime: this.runtime, log: () => {} })).shaper;
    const nodes = this.nodes.map((n) => ({
      name: n.name,
      containerId: n.containerId,
      addresses: Object.values(n.addresses),
      runId: this.runId,
      owner: this.run.owner,
      holder: this.run.holder,
    }));
    return openControllerFor(this.runtime, this.name, nodes, { ...options, shaperImage });
  }

  /** Removes this run's containers and networks (idempotent, bounded by the cleanup timeout). */
  stop(): Promise<RemovedResources> {
    this.stopped ??= removeByLabels(this.runtime, labSelector(this.name, this.runId));
    return this.stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
