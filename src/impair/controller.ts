/**
 * Puts conditions in force on a running lab, schedules timeline steps, watches them hold, and
 * reads back what is in force. Every change is validated before any namespace is touched, turned
 * into each node's ops (lab-ops.ts) and sent to the node's agent over its control stream; the
 * agent plans and switches (render.ts, agent/core.ts). `--dry-run` prints what the agents would do.
 *
 * The agents own the state: auto-revert (`untilMs`), scheduled steps and the health checks go on
 * without acklab's process, so a killed CLI never leaves a condition past its deadline.
 */
import { AcklabError, errorMessage } from '../common/index.js';
import { ConditionError, checkPartitionNodes, type Cut, type EgressCondition } from '../conditions/index.js';
import type { AgentClient } from './agent-client.js';
import type { AgentEvent, AgentStatus, ScheduledStep } from './agent/protocol.js';
import { quoteArgv } from './executor.js';
import { IPTABLES_RESTORE } from './iptables.js';
import { cutOps, egressOps, healOps, type LabOps } from './lab-ops.js';
import { type Backend, type NodeAddressing, validateEgress } from './model.js';
import type { BackendProbe } from './probe.js';
import { type LabConditions, type NodeConditions, labConditions, nodeConditionsFromStatus } from './readback.js';
import { EMPTY_STATE, allocateStages, applyOps, renderRestore, stageSetup, stageTeardown, type Addressing, type NodeOp, type Stage } from './render.js';

/** A running lab as the controller sees it: its nodes and, per node, its agent. */
export interface LabHandle {
  lab: string;
  nodes: NodeAddressing[];
  /** The node's agent; its sidecar is made on demand when `create`, else undefined if there is none yet. */
  agent(node: string, create: boolean): Promise<AgentClient | undefined>;
  /** Closes the control streams it opened (the agents, and the conditions they hold, stay). */
  close?(): void;
  /**
   * The node's container was started again (a new network namespace, maybe a new address): its old
   * sidecar goes, and the node's address is updated; the next `agent(node, true)` makes a new one.
   */
  replaceNode?(node: string, ref: { containerId: string; addresses: string[] }): Promise<void>;
}

export interface ControllerOptions {
  /** Print what the agents would do instead of doing it (reads still happen). */
  dryRun?: boolean;
  /** Skip the probe (tests, or `--backend` for a dry run on another kind of kernel). */
  backend?: Backend;
  /** Where dry-run output and progress lines go. */
  log?: (line: string) => void;
  /** A dry run must not touch the lab: how to probe without a sidecar (a throwaway container). */
  probeElsewhere?: () => Promise<BackendProbe>;
  /** Seed for the helpers' random choices (loss, jitter, …); unset: seeded from the clock. */
  seed?: number;
}

/** One timeline step for the whole lab: due `atMs` after the timeline's zero, with each node's ops. */
export interface LabStep {
  id: string;
  atMs: number;
  ops: LabOps;
}

/** What a watcher hears: an agent's event, or that its stream ended (the sidecar or agent is gone). */
export type LabEvent = { node: string } & (AgentEvent | { event: 'closed'; reason: string; atMs: number });

export interface ChangeOptions {
  /** The condition lapses by itself this many ms from now (the agent owns the timer). */
  forMs?: number;
  /** Cuts only: who put them there (a nemesis replaces its own). */
  tag?: string;
}

export class ImpairController {
  private probed?: BackendProbe;
  private readonly configured = new Map<string, AgentClient>();
  private watcher: ((e: LabEvent) => void) | undefined;
  /** Agents whose stream ends on purpose (their node was started again): not a lost condition. */
  private readonly retired = new Set<AgentClient>();

  constructor(
    private readonly lab: LabHandle,
    private readonly options: ControllerOptions = {},
  ) {}

  get nodeNames(): string[] {
    return this.lab.nodes.map((n) => n.name);
  }

  private addressing(): Addressing {
    return Object.fromEntries(this.lab.nodes.map((n) => [n.name, n.addresses]));
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
  }

  /** The node's agent, configured with the lab's addresses (made when `create` and not dry-running). */
  private async agent(node: string, create: boolean): Promise<AgentClient | undefined> {
    const agent = await this.lab.agent(node, create && !this.options.dryRun);
    if (!agent) return undefined;
    if (this.configured.get(node) !== agent) {
      await agent.configure(node, this.addressing(), this.options.seed);
      this.configured.set(node, agent);
    }
    return agent;
  }

  /**
   * The backend for this lab's kernel, as a node's agent probed it: an existing agent's, else
   * `prefer`'s (its sidecar made), else — for a dry run, which must not touch the lab — elsewhere.
   */
  async backend(prefer?: string): Promise<BackendProbe> {
    if (this.probed) return this.probed;
    if (this.options.backend) return (this.probed = { backend: this.options.backend, reason: 'chosen with --backend' });
    if (this.lab.nodes.length === 0) throw new AcklabError(`lab "${this.lab.lab}" has no running nodes`);
    for (const n of this.nodeNames) {
      const a = await this.agent(n, false);
      if (a) return (this.probed = (await a.hello()).backend);
    }
    if (!this.options.dryRun) return (this.probed = (await (await this.agent(prefer ?? this.nodeNames[0]!, true))!.hello()).backend);
    if (this.options.probeElsewhere) return (this.probed = await this.options.probeElsewhere());
    throw new AcklabError('a dry run needs the backend and no node has a sidecar to probe with; pass --backend netem|userspace');
  }

  /** Makes every node's sidecar and agent now, so later changes and timeline steps apply without that delay. */
  async prepare(): Promise<BackendProbe> {
    if (!this.options.dryRun) await Promise.all(this.nodeNames.map((n) => this.agent(n, true)));
    return this.backend();
  }

  /** Sets egress conditions (each replaces the node's earlier one towards the same peer). */
  async impair(conds: EgressCondition[], options: ChangeOptions = {}): Promise<void> {
    const { backend } = await this.backend(conds[0]?.node);
    const problems: string[] = [];
    for (const c of conds) {
      try {
        validateEgress(c, this.nodeNames, backend);
      } catch (err) {
        problems.push(...(err instanceof ConditionError ? err.problems : [errorMessage(err)]));
      }
    }
    if (problems.length > 0) throw new ConditionError(problems.map((message) => ({ message })));
    await this.apply(egressOps(conds, this.until(options)));
  }

  /** Adds cuts (a partition is a set of cuts); a cut already in force keeps its place, restyled if asked. */
  async partition(cuts: Cut[], options: ChangeOptions = {}): Promise<void> {
    for (const c of cuts) checkPartitionNodes({ kind: 'one-way', from: c.from, to: c.to }, this.nodeNames);
    const until = this.until(options);
    await this.apply(cutOps(cuts, { ...(until !== undefined ? { untilMs: until } : {}), ...(options.tag ? { tag: options.tag } : {}) }));
  }

  /** Removes every condition and cut, or those involving `node`, on every node that has an agent. */
  async heal(node?: string): Promise<void> {
    if (node !== undefined && !this.nodeNames.includes(node)) {
      throw new ConditionError([{ message: `unknown node "${node}"; the lab's nodes are: ${this.nodeNames.join(', ')}` }]);
    }
    await this.apply(healOps(this.nodeNames, node), { createAgents: false });
  }

  /** Applies each node's ops now, all nodes at once; a node with nothing to add and no agent is skipped. */
  async apply(ops: LabOps, { createAgents = true } = {}): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      [...ops].map(async ([node, nodeOps]) => {
        try {
          if (this.options.dryRun) return await this.dryRun(node, nodeOps);
          const adds = nodeOps.some((o) => o.op === 'impair' || o.op === 'cut');
          const agent = await this.agent(node, createAgents && adds);
          if (agent) {
            const r = await agent.change(nodeOps);
            if (!r.ok) throw new AcklabError(r.error ?? 'the switch failed');
          }
        } catch (err) {
          failures.push(`${node}: ${errorMessage(err)}`);
        }
      }),
    );
    if (failures.length > 0) throw new AcklabError(failures.length === 1 ? failures[0]! : `not every node took the change:\n  ${failures.join('\n  ')}`);
  }

  /**
   * Hands every node its part of a timeline: each agent builds what the steps need now, and
   * switches each step at t0 + its atMs by itself. Resolves once every agent has staged its steps;
   * without `t0Ms` the steps wait for `start`.
   */
  async schedule(steps: readonly LabStep[], t0Ms?: number): Promise<void> {
    const perNode = new Map<string, ScheduledStep[]>();
    for (const step of steps) for (const [node, ops] of step.ops) perNode.set(node, [...(perNode.get(node) ?? []), { id: step.id, atMs: step.atMs, ops }]);
    await Promise.all(
      [...perNode].map(async ([node, nodeSteps]) => {
        const agent = await this.agent(node, true);
        if (agent) await agent.schedule(nodeSteps, t0Ms);
      }),
    );
  }

  /** The timeline's zero (epoch ms) for every staged step, on every node at once. */
  async start(t0Ms: number): Promise<void> {
    await Promise.all(this.nodeNames.map(async (n) => (await this.agent(n, false))?.start(t0Ms)));
  }

  /** Follows every node's agent: its switches, its problems, and the end of its stream. */
  async watch(listener: (e: LabEvent) => void): Promise<void> {
    this.watcher = listener;
    await Promise.all(this.nodeNames.map(async (node) => this.watchNode(node)));
  }

  private async watchNode(node: string): Promise<void> {
    const listener = this.watcher;
    const agent = await this.agent(node, false);
    if (!agent || !listener) return;
    await agent.watch((e) => listener({ node, ...e }));
    void agent.closed.then((reason) => {
      if (!this.retired.has(agent)) listener({ node, event: 'closed', reason, atMs: Date.now() });
    });
  }

  /**
   * A node's container was started again: it has a new network namespace, so it gets a new sidecar,
   * which takes over the old agent's conditions and its steps still to come; every other agent
   * learns the node's address again (rules naming it are rewritten if it changed).
   */
  async nodeRestarted(node: string, ref: { containerId: string; addresses: string[] }): Promise<void> {
    if (!this.lab.replaceNode) throw new AcklabError('this lab cannot replace a node\'s sidecar');
    const old = await this.agent(node, false);
    const status = old ? await old.status().catch(() => undefined) : undefined;
    if (old) this.retired.add(old);
    await this.lab.replaceNode(node, ref);
    this.configured.delete(node);
    await Promise.all([...this.configured].map(([n, a]) => a.configure(n, this.addressing(), this.options.seed)));
    if (!status) return;
    const now = Date.now();
    const carried = restoreOps(status.state, now);
    const upcoming = status.pending.filter((p) => p.dueMs === undefined || p.dueMs > now);
    // nothing to hold and nothing to come: the node needs no sidecar (until a change asks for one)
    if (carried.length === 0 && upcoming.length === 0) return;
    const agent = (await this.agent(node, true))!;
    if (carried.length > 0) await agent.change(carried);
    // Steps already armed keep their zero (all of one run share it); staged ones wait for start.
    const armed = upcoming.filter((p) => p.dueMs !== undefined);
    if (armed.length > 0) await agent.schedule(armed.map(({ id, atMs, ops }) => ({ id, atMs, ops })), armed[0]!.dueMs! - armed[0]!.atMs);
    const staged = upcoming.filter((p) => p.dueMs === undefined);
    if (staged.length > 0) await agent.schedule(staged.map(({ id, atMs, ops }) => ({ id, atMs, ops })));
    if (this.watcher) await this.watchNode(node);
  }

  /** What is in force, read back from the kernel of every node that has an agent. */
  async read(): Promise<LabConditions> {
    const nodes = await Promise.all(
      this.nodeNames.map(async (name): Promise<NodeConditions> => {
        const agent = await this.agent(name, false);
        if (!agent) return { node: name, sidecar: false, impairments: [], cuts: [], qdiscs: {}, problems: [] };
        return nodeConditionsFromStatus(name, await agent.status());
      }),
    );
    const probed = nodes.some((n) => n.sidecar) ? await this.backend().catch(() => undefined) : undefined;
    return labConditions(this.lab.lab, nodes, probed);
  }

  /** Each node's agent status (for a run's records). */
  async statuses(): Promise<Map<string, AgentStatus>> {
    const out = new Map<string, AgentStatus>();
    await Promise.all(
      this.nodeNames.map(async (n) => {
        const a = await this.agent(n, false);
        if (a) out.set(n, await a.status());
      }),
    );
    return out;
  }

  /** Closes the control streams (a CLI process can exit; the conditions stay in force). */
  close(): void {
    this.configured.clear();
    this.lab.close?.();
  }

  private until(options: ChangeOptions): number | undefined {
    return options.forMs === undefined ? undefined : Date.now() + options.forMs;
  }

  /** Prints the stages a change would build, the batch that would switch it, and what would go. */
  private async dryRun(node: string, ops: NodeOp[]): Promise<void> {
    const agent = await this.agent(node, false);
    const status = agent ? await agent.status() : undefined;
    const current = status?.state ?? EMPTY_STATE;
    const devices = status?.devices ?? ['eth0'];
    const { backend } = await this.backend();
    const existing = new Map<string, Stage>((status?.stages ?? []).map((s) => [s.key, s]));
    const next = applyOps(current, ops, node);
    const needed = allocateStages([next], existing, backend);
    for (const stage of needed.values()) {
      if (existing.has(stage.key)) continue;
      const setup = stageSetup(stage, devices, backend, node, this.options.seed);
      for (const argv of setup.tc) this.log(`[${node}] ${quoteArgv(argv)}`);
      if (setup.helper) this.log(`[${node}] ${quoteArgv(setup.helper)} &`);
    }
    this.log(`[${node}] ${quoteArgv(IPTABLES_RESTORE)} <<'EOF'\n${renderRestore(next, new Map([...existing, ...needed]), this.addressing(), (status?.generation ?? 0) + 1)}EOF`);
    for (const stage of existing.values()) if (!needed.has(stage.key)) for (const argv of stageTeardown(stage, devices)) this.log(`[${node}] ${quoteArgv(argv)}`);
  }
}

/** A node's state as ops that rebuild it on a new agent (entries that already lapsed are left out). */
function restoreOps(state: AgentStatus['state'], nowMs: number): NodeOp[] {
  const live = (u?: number) => u === undefined || u > nowMs;
  return [
    ...state.impairments.filter((i) => live(i.untilMs)).map((i): NodeOp => ({ op: 'impair', to: i.to, impairment: i.impairment, ...(i.untilMs !== undefined ? { untilMs: i.untilMs } : {}) })),
    ...state.cuts
      .filter((c) => live(c.untilMs))
      .map((c): NodeOp => ({ op: 'cut', cut: { from: c.from, to: c.to, style: c.style }, side: c.side, ...(c.untilMs !== undefined ? { untilMs: c.untilMs } : {}), ...(c.tag !== undefined ? { tag: c.tag } : {}) })),
  ];
}
