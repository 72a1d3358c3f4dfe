/**
 * Sidecars: one shaper container per impaired node, sharing the node's network namespace
 * (`container:<id>` network mode, NET_ADMIN), so app containers need no capabilities and any
 * image can be impaired (pumba's way). Its main process is the node's agent (agent/main.ts),
 * which acklab talks to over one control stream; every decision is made by the pure planners of
 * this folder. A node that is started again gets a new namespace, so it gets a new sidecar too.
 */
import { AcklabError, LABELS, createLabels, errorMessage, labelFilter } from '../common/index.js';
import type { ContainerClient, ExecResult } from '../runtime/index.js';
import { AgentClient } from './agent-client.js';
import { AGENT_DAEMON } from './agent/protocol.js';

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

/**
 * Each sidecar's real-time budget: 100 ms of CPU per second at SCHED_FIFO, which the agent spends
 * only while a timeline step is armed: its wake-up, the step's iptables-restore (started then, so it
 * inherits the policy and starts at once) and the generation made ahead of it — on a slow 2-core
 * machine 25–50 ms a step. A budget spent stops every real-time task of the sidecar until its next
 * period, up to a second later: 25 and 50 ms/s made steps 0.7–1 s late there under load
 * (`npm run bench:faults`). On cgroup v1 the engine's containers share the budget dockerd was given
 * (`--cpu-rt-runtime`, which scripts/ensure-engine.sh sets for an engine it starts): 950 ms/s is room
 * for 9 sidecars at once; the ones after that get none. Where the engine gives none (cgroup v2, an
 * engine started without it, the budget spent), the sidecar is made without, and switches are as
 * punctual as the machine's load allows.
 */
export const SIDECAR_REALTIME = { runtimeUs: 100_000, periodUs: 1_000_000 } as const;

/** Per engine client: until when not to ask for a real-time budget again, after the engine refused one. */
const refusedRealtime = new WeakMap<ContainerClient, number>();
const ASK_AGAIN_MS = 60_000;

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

/** Creates, finds and removes a lab's sidecars, and connects to their agents. */
export class Sidecars {
  private readonly agents = new Map<string, Promise<AgentClient>>();

  constructor(private readonly options: SidecarOptions) {}

  /** The node's agent: its running sidecar's, or a new sidecar's when `create`; undefined if none and not `create`. */
  async agent(node: LabNodeRef, create: boolean): Promise<AgentClient | undefined> {
    const cached = this.agents.get(node.name);
    if (cached) return cached;
    const { containers, lab } = this.options;
    const existing = (await containers.list(labelFilter({ role: 'sidecar', lab, node: node.name }))).filter((c) => c.running && c.labels[LABELS.target] === node.containerId);
    let id = existing[0]?.id;
    if (!id) {
      if (!create) return undefined;
      id = await this.create(node);
    }
    const connecting = AgentClient.connect(containers, id, node.name);
    this.agents.set(node.name, connecting);
    connecting.catch(() => this.agents.delete(node.name));
    const agent = await connecting;
    void agent.closed.then(() => {
      if (this.agents.get(node.name) === connecting) this.agents.delete(node.name);
    });
    return agent;
  }

  /** The node's sidecar id (running, for this container), if it has one. */
  async sidecarOf(node: LabNodeRef): Promise<string | undefined> {
    const found = await this.options.containers.list(labelFilter({ role: 'sidecar', lab: this.options.lab, node: node.name }));
    return found.find((c) => c.running && c.labels[LABELS.target] === node.containerId)?.id;
  }

  private async create(node: LabNodeRef): Promise<string> {
    const { containers, lab } = this.options;
    const image = await this.options.shaperImage();
    const nodeInfo = await containers.inspect(node.containerId);
    const suffix = Date.now().toString(36).slice(-5);
    const spec = {
      // "." as in the node's own name (acklab-<lab>.<node>): no other node's name can end like this.
      name: `${nodeInfo.name}.shaper-${suffix}`,
      image,
      command: [...AGENT_DAEMON],
      labels: createLabels({
        role: 'sidecar',
        lab,
        node: node.name,
        target: node.containerId,
        ...(node.runId ? { runId: node.runId } : {}),
        ...(node.owner ? { owner: node.owner } : {}),
        ...(node.holder ? { holder: node.holder } : {}),
      }),
      networkMode: { container: node.containerId },
      capAdd: [...SIDECAR_CAPABILITIES],
    };
    if ((refusedRealtime.get(containers) ?? 0) < Date.now()) {
      let id: string | undefined;
      try {
        id = await containers.create({ ...spec, realtime: { ...SIDECAR_REALTIME } });
        await containers.start(id);
        return id;
      } catch {
        // No real-time budget on this engine (or none left): the same sidecar without one.
        refusedRealtime.set(containers, Date.now() + ASK_AGAIN_MS);
        if (id !== undefined) await containers.remove(id).catch(() => {});
      }
    }
    try {
      const id = await containers.create({ ...spec, name: `${spec.name}-b` });
      await containers.start(id);
      return id;
    } catch (err) {
      throw new AcklabError(`could not start the shaper sidecar for node "${node.name}" (image ${image}): ${errorMessage(err)}`, 1, { cause: err });
    }
  }

  /** Removes the node's sidecars (a node started again needs a new one in its new namespace). */
  async remove(node: string): Promise<void> {
    const cached = this.agents.get(node);
    this.agents.delete(node);
    if (cached) (await cached.catch(() => undefined))?.close();
    const found = await this.options.containers.list(labelFilter({ role: 'sidecar', lab: this.options.lab, node }));
    await Promise.all(found.map((c) => this.options.containers.remove(c.id)));
  }

  /** Removes every sidecar of the lab (all runs). Returns how many were removed. */
  async removeAll(): Promise<number> {
    for (const a of this.agents.values()) (await a.catch(() => undefined))?.close();
    this.agents.clear();
    const found = await this.options.containers.list(labelFilter({ role: 'sidecar', lab: this.options.lab }));
    await Promise.all(found.map((c) => this.options.containers.remove(c.id)));
    return found.length;
  }

  /** Closes every control stream (the agents and their conditions stay). */
  close(): void {
    for (const a of this.agents.values()) void a.then((c) => c.close(), () => undefined);
    this.agents.clear();
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
