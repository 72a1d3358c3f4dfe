/**
 * Sidecars: one shaper container per impaired node, sharing the node's network namespace
 * (`container:<id>` network mode, NET_ADMIN), so app containers need no capabilities and any
 * image can be impaired (pumba's way). A sidecar only runs argv it is given; every decision is
 * made by the pure builders of this folder.
 */
import { AcklabError, LABELS, createLabels, errorMessage, labelFilter } from '../common/index.js';
import type { ContainerClient, ExecResult } from '../runtime/index.js';

/** Runs argv inside one node's network namespace. The narrow interface the controller depends on. */
export interface NamespaceExecutor {
  readonly node: string;
  /** Runs to completion; never throws for a non-zero exit (the caller decides). */
  run(argv: readonly string[]): Promise<ExecResult>;
  /** Starts a long-running process (the helper) and returns at once. */
  spawn(argv: readonly string[]): Promise<void>;
}

/** A lab node as the impairment layer sees it. */
export interface LabNodeRef {
  name: string;
  containerId: string;
  /** IPv4 addresses on every network the node joined. */
  addresses: string[];
  runId?: string;
  /** The lab's owner and holder labels: its sidecars belong to it and go with it. */
  owner?: string;
  holder?: string;
}

/**
 * NET_ADMIN for tc/iptables/NFQUEUE; NET_RAW for the helper's duplicate packets; SYS_NICE so the
 * helper may run SCHED_FIFO and release packets on time on a busy machine.
 */
export const SIDECAR_CAPABILITIES = ['NET_ADMIN', 'NET_RAW', 'SYS_NICE'] as const;

export interface SidecarOptions {
  lab: string;
  containers: ContainerClient;
  /** The shaper image (acklab/shaper:<hash>); resolved lazily so dry runs and reads need no image. */
  shaperImage: () => Promise<string>;
}

/** The running nodes of a lab, from their labels (so any process can act on a lab another one started). */
export async function findLabNodes(containers: ContainerClient, lab: string): Promise<LabNodeRef[]> {
  const found = await containers.list(labelFilter({ role: 'node', lab }));
  return found
    .filter((c) => c.running && c.labels[LABELS.node])
    .map((c) => {
      const ref: LabNodeRef = { name: c.labels[LABELS.node]!, containerId: c.id, addresses: Object.values(c.addresses).filter(Boolean) };
      const runId = c.labels[LABELS.runId];
      if (runId !== undefined) ref.runId = runId;
      const owner = c.labels[LABELS.owner];
      if (owner !== undefined) ref.owner = owner;
      const holder = c.labels[LABELS.holder];
      if (holder !== undefined) ref.holder = holder;
      return ref;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Creates, finds and removes a lab's sidecars. */
export class Sidecars {
  private readonly cache = new Map<string, NamespaceExecutor>();

  constructor(private readonly options: SidecarOptions) {}

  /** The node's sidecar, created and started if `create` and absent; undefined if absent and not `create`. */
  async executor(node: LabNodeRef, create: boolean): Promise<NamespaceExecutor | undefined> {
    const cached = this.cache.get(node.name);
    if (cached) return cached;
    const { containers, lab } = this.options;
    const existing = (await containers.list(labelFilter({ role: 'sidecar', lab, node: node.name }))).filter((c) => c.running);
    let id = existing[0]?.id;
    if (!id) {
      if (!create) return undefined;
      id = await this.create(node);
    }
    const exec = sidecarExecutor(node.name, id, containers);
    this.cache.set(node.name, exec);
    return exec;
  }

  private async create(node: LabNodeRef): Promise<string> {
    const { containers, lab } = this.options;
    const image = await this.options.shaperImage();
    const nodeInfo = await containers.inspect(node.containerId);
    try {
      const id = await containers.create({
        // "." as in the node's own name (acklab-<lab>.<node>): no other node's name can end like this.
        name: `${nodeInfo.name}.shaper`,
        image,
        command: ['sleep', 'infinity'],
        labels: createLabels({
          role: 'sidecar',
          lab,
          node: node.name,
          ...(node.runId ? { runId: node.runId } : {}),
          ...(node.owner ? { owner: node.owner } : {}),
          ...(node.holder ? { holder: node.holder } : {}),
        }),
        networkMode: { container: node.containerId },
        capAdd: [...SIDECAR_CAPABILITIES],
      });
      await containers.start(id);
      return id;
    } catch (err) {
      throw new AcklabError(`could not start the shaper sidecar for node "${node.name}" (image ${image}): ${errorMessage(err)}`, 1, { cause: err });
    }
  }

  /** Removes every sidecar of the lab (all runs). Returns how many were removed. */
  async removeAll(): Promise<number> {
    const found = await this.options.containers.list(labelFilter({ role: 'sidecar', lab: this.options.lab }));
    await Promise.all(found.map((c) => this.options.containers.remove(c.id)));
    this.cache.clear();
    return found.length;
  }
}

/** Runs argv in a container's namespace through the runtime (the sidecar, or a throwaway probe container). */
export function sidecarExecutor(node: string, containerId: string, containers: ContainerClient): NamespaceExecutor {
  return {
    node,
    run: (argv) => containers.exec(containerId, [...argv]),
    // execDetached closes the response socket the engine hands back even for a detached exec; left
    // open, it kept `acklab up` and `acklab run` alive for minutes after their work was done.
    spawn: (argv) => containers.execDetached(containerId, [...argv]),
  };
}
