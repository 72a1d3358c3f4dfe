/**
 * Sidecars: one shaper container per impaired node, sharing the node's network namespace
 * (`NetworkMode: container:<id>`, CAP_ADD NET_ADMIN), so app containers need no capabilities
 * and any image can be impaired (pumba's way). The sidecar only runs argv it is given; every
 * decision is made by the pure builders in src/impair.
 */
import type Docker from 'dockerode';
import { AcklabError, LABELS, createLabels, errorMessage, labelFilter } from '../common/index.js';
import { DockerContainerClient } from './docker-runtime.js';
import { dockerClient } from './docker.js';
import type { ContainerInfo, ExecResult } from './types.js';

/** Runs argv inside one node's network namespace. The narrow interface src/impair depends on. */
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
}

export interface SidecarOptions {
  lab: string;
  /** The shaper image (acklab/shaper:<hash>); resolved lazily so dry runs and reads need no image. */
  shaperImage: () => Promise<string>;
  docker?: Docker;
}

/** Creates, finds and removes a lab's sidecars. */
export class Sidecars {
  private readonly docker: Docker;
  private readonly containers: DockerContainerClient;
  private readonly cache = new Map<string, NamespaceExecutor>();

  constructor(private readonly options: SidecarOptions) {
    this.docker = options.docker ?? dockerClient();
    this.containers = new DockerContainerClient(this.docker);
  }

  /** The lab's running nodes, from their Docker labels (so any process can find a running lab). */
  async nodes(): Promise<LabNodeRef[]> {
    const found = await this.containers.list(labelFilter({ role: 'node', lab: this.options.lab }));
    return found
      .filter((c) => c.running && c.labels[LABELS.node])
      .map((c: ContainerInfo) => {
        const ref: LabNodeRef = { name: c.labels[LABELS.node]!, containerId: c.id, addresses: Object.values(c.addresses).filter(Boolean) };
        const runId = c.labels[LABELS.runId];
        if (runId !== undefined) ref.runId = runId;
        return ref;
      })
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The node's sidecar, created and started if `create` and absent; undefined if absent and not `create`. */
  async executor(node: LabNodeRef, create: boolean): Promise<NamespaceExecutor | undefined> {
    const cached = this.cache.get(node.name);
    if (cached) return cached;
    const existing = (await this.containers.list(labelFilter({ role: 'sidecar', lab: this.options.lab, node: node.name }))).filter(
      (c) => c.running,
    );
    let id = existing[0]?.id;
    if (!id) {
      if (!create) return undefined;
      id = await this.create(node);
    }
    const exec = new SidecarExecutor(node.name, id, this.containers);
    this.cache.set(node.name, exec);
    return exec;
  }

  private async create(node: LabNodeRef): Promise<string> {
    const image = await this.options.shaperImage();
    const nodeInfo = await this.containers.inspect(node.containerId);
    const labels = createLabels({ role: 'sidecar', lab: this.options.lab, node: node.name, ...(node.runId ? { runId: node.runId } : {}) });
    try {
      const c = await this.docker.createContainer({
        name: `${nodeInfo.name.replace(/^\//, '')}-shaper`,
        Image: image,
        Cmd: ['sleep', 'infinity'],
        Labels: labels,
        HostConfig: {
          NetworkMode: `container:${node.containerId}`,
          // NET_ADMIN for tc/iptables/NFQUEUE; NET_RAW for the helper's duplicate packets; SYS_NICE so
          // the helper may run SCHED_FIFO and release packets on time on a busy machine.
          CapAdd: ['NET_ADMIN', 'NET_RAW', 'SYS_NICE'],
        },
      });
      await c.start();
      return c.id;
    } catch (err) {
      throw new AcklabError(`could not start the shaper sidecar for node "${node.name}" (image ${image}): ${errorMessage(err)}`, 1, { cause: err });
    }
  }

  /** Removes every sidecar of the lab (all runs). Returns how many were removed. */
  async removeAll(): Promise<number> {
    const found = await this.containers.list(labelFilter({ role: 'sidecar', lab: this.options.lab }));
    await Promise.all(found.map((c) => this.containers.remove(c.id)));
    this.cache.clear();
    return found.length;
  }
}

class SidecarExecutor implements NamespaceExecutor {
  constructor(
    readonly node: string,
    private readonly id: string,
    private readonly containers: DockerContainerClient,
  ) {}

  run(argv: readonly string[]): Promise<ExecResult> {
    return this.containers.exec(this.id, [...argv]);
  }

  // execDetached closes the response socket dockerode hands back even for a detached exec; left
  // open, it kept `acklab up` and `acklab run` alive for minutes after their work was done.
  spawn(argv: readonly string[]): Promise<void> {
    return this.containers.execDetached(this.id, [...argv]);
  }
}
