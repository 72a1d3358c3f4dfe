/**
 * Puts conditions in force on a running lab and removes them. Everything is validated before any
 * namespace is touched; every change is computed by the pure planners (plan.ts) and run as argv
 * through a NamespaceExecutor (a sidecar per node), or printed by the dry-run executor.
 *
 * State lives in the kernel only: a node's impairments are read back from its iptables comments
 * (readback.ts), changed, and the node's impairment set is rebuilt (teardown, then apply); cuts
 * are added and deleted rule by rule so other cuts never lapse.
 */
import { AcklabError, errorMessage } from '../common/index.js';
import { ConditionError, checkPartitionNodes, sameCut, type Cut, type EgressCondition } from '../conditions/index.js';
import { dryRunExecutor, runCommands } from './executor.js';
import { helperLogfile, helperPidfile } from './helper.js';
import { NFQUEUE_PROC, partitionSetup, partitionTeardown } from './iptables.js';
import { type Backend, type NodeAddressing, validateEgress } from './model.js';
import { type ImpairPlan, planCuts, planImpairTeardown, planImpairments } from './plan.js';
import { type BackendProbe, probeBackend } from './probe.js';
import { type LabConditions, type NodeRules, labConditions, readNodeConditions, readRules } from './readback.js';
import type { NamespaceExecutor } from './sidecars.js';
import { type ImpairRecord, parseNfqueueProc } from './state.js';

/** A running lab as the controller sees it: its nodes and, per node, the namespace executor. */
export interface LabHandle {
  lab: string;
  nodes: NodeAddressing[];
  /** The node's executor; created on demand when `create`, else undefined if there is none yet. */
  executor(node: string, create: boolean): Promise<NamespaceExecutor | undefined>;
}

export interface ControllerOptions {
  /** Print the argv that would change the kernel instead of running it (reads still run). */
  dryRun?: boolean;
  /** Skip the probe (tests, or `--backend` for a dry run on another kind of kernel). */
  backend?: Backend;
  /** Where dry-run argv and progress lines go. */
  log?: (line: string) => void;
  /** A dry run must not touch the lab: how to probe without a sidecar (a throwaway container). */
  probeElsewhere?: () => Promise<BackendProbe>;
  /** Upper bound for heal (default 30 s). */
  cleanupTimeoutMs?: number;
  /** How long a helper may take to bind its queue. */
  helperStartMs?: number;
  /** Seed for the helpers' random choices (loss, jitter, …); unset: seeded from the clock. */
  seed?: number;
}

export class ImpairController {
  private probed?: BackendProbe;

  constructor(
    private readonly lab: LabHandle,
    private readonly options: ControllerOptions = {},
  ) {}

  /** The lab's node names (for validating partitions before anything runs). */
  get nodeNames(): string[] {
    return this.lab.nodes.map((n) => n.name);
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
  }

  /**
   * The backend for this lab's kernel, probed once: in a node that already has a sidecar, else in
   * `prefer`'s (created), else — for a dry run, which must not touch the lab — elsewhere.
   */
  async backend(prefer?: string): Promise<BackendProbe> {
    if (this.probed) return this.probed;
    if (this.options.backend) return (this.probed = { backend: this.options.backend, reason: 'chosen with --backend' });
    if (this.lab.nodes.length === 0) throw new AcklabError(`lab "${this.lab.lab}" has no running nodes`);
    let exec: NamespaceExecutor | undefined;
    for (const n of this.lab.nodes) {
      exec = await this.lab.executor(n.name, false);
      if (exec) break;
    }
    if (!exec && !this.options.dryRun) exec = await this.lab.executor(prefer ?? this.lab.nodes[0]!.name, true);
    if (exec) {
      const e = exec;
      this.probed = await probeBackend((argv) => e.run(argv));
    } else if (this.options.probeElsewhere) {
      this.probed = await this.options.probeElsewhere();
    } else {
      throw new AcklabError('a dry run needs the backend and no node has a sidecar to probe with; pass --backend netem|userspace');
    }
    return this.probed;
  }

  /** Makes every node's sidecar now and probes the backend, so later changes apply without that delay. */
  async prepare(): Promise<BackendProbe> {
    if (!this.options.dryRun) await Promise.all(this.nodeNames.map((n) => this.lab.executor(n, true)));
    return this.backend();
  }

  /** Sets egress conditions (each replaces an existing one for the same node and peer). */
  async impair(conds: EgressCondition[]): Promise<void> {
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
    await Promise.all(
      [...groupBy(conds, (c) => c.node)].map(async ([node, changes]) => {
        const current = await this.rules(node);
        const kept = current.impairments.filter((r) => !changes.some((c) => c.to === r.to)).map(toCondition);
        await this.rebuild(node, current, [...kept, ...changes]);
      }),
    );
  }

  /** Adds cuts (a partition is a set of cuts); a cut already in force with the same style is left alone. */
  async partition(cuts: Cut[]): Promise<void> {
    for (const c of cuts) checkPartitionNodes({ kind: 'one-way', from: c.from, to: c.to }, this.nodeNames);
    const nodes = new Set(cuts.flatMap((c) => [c.from, c.to]));
    await Promise.all(
      [...nodes].map(async (node) => {
        const state = await this.rules(node);
        const stale = state.cuts.filter((s) => cuts.some((c) => sameCut(c, s) && c.style !== s.style));
        const fresh = cuts.filter((c) => !state.cuts.some((s) => sameCut(c, s) && c.style === s.style));
        const cmds: string[][] = [];
        if (!state.partOutChain) cmds.push(...partitionSetup());
        cmds.push(...(planCuts(stale, this.lab.nodes, '-D').get(node) ?? []));
        cmds.push(...(planCuts(fresh, this.lab.nodes, '-A').get(node) ?? []));
        await runCommands(await this.writer(node, true), cmds);
      }),
    );
  }

  /**
   * Heals the whole lab (no node) or one node: its own impairments, other nodes' impairments
   * towards it, and every cut it is part of. Runs every step even if one fails, then reports.
   */
  async heal(node?: string): Promise<void> {
    // Cleanup runs under its own timeout (pumba's cleanupTimeout), so a wedged exec cannot hang `heal`/`down`.
    const ms = this.options.cleanupTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AcklabError(`heal did not finish within ${ms / 1000}s; run it again (rules are removed idempotently)`)), ms);
      timer.unref();
    });
    try {
      await Promise.race([this.healNow(node), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async healNow(node?: string): Promise<void> {
    if (node !== undefined && !this.nodeNames.includes(node)) {
      throw new ConditionError([{ message: `unknown node "${node}"; the lab's nodes are: ${this.nodeNames.join(', ')}` }]);
    }
    const failures: string[] = [];
    await Promise.all(
      this.nodeNames.map(async (name) => {
        try {
          if (!(await this.lab.executor(name, false))) return; // never impaired: nothing to remove
          const state = await this.rules(name);
          const exec = await this.writer(name, false);
          if (node === undefined) {
            await this.teardownImpairments(exec, state);
            if (state.partOutChain || state.partInChain) await runCommands(exec, partitionTeardown(), { tolerant: true });
            return;
          }
          const kept = state.impairments.filter((r) => name !== node && r.to !== node).map(toCondition);
          if (kept.length !== state.impairments.length) await this.rebuild(name, state, kept);
          const gone = state.cuts.filter((c) => c.from === node || c.to === node);
          await runCommands(exec, gone.flatMap((c) => planCuts([c], this.lab.nodes, '-D').get(name) ?? []), { tolerant: true });
        } catch (err) {
          failures.push(`${name}: ${errorMessage(err)}`);
        }
      }),
    );
    if (failures.length > 0) throw new AcklabError(`heal did not finish on every node:\n  ${failures.join('\n  ')}`);
  }

  /** What is in force, read from the kernel of every node that has a sidecar. */
  async read(): Promise<LabConditions> {
    const nodes = await Promise.all(this.nodeNames.map(async (name) => readNodeConditions(name, await this.lab.executor(name, false))));
    const probed = nodes.some((n) => n.sidecar) ? await this.backend().catch(() => undefined) : undefined;
    return labConditions(this.lab.lab, nodes, probed);
  }

  // ---- internals ----

  private async rules(node: string): Promise<NodeRules> {
    return readRules(node, await this.lab.executor(node, false));
  }

  /** Where changes go: the node's sidecar (created when `create`), or the dry-run printer. */
  private async writer(node: string, create: boolean): Promise<NamespaceExecutor> {
    if (this.options.dryRun) return dryRunExecutor(node, (l) => this.log(l));
    const exec = await this.lab.executor(node, create);
    if (!exec) throw new AcklabError(`node "${node}" has no shaper sidecar`);
    return exec;
  }

  /** Replaces a node's whole impairment set: teardown what is there, then apply `conds`. */
  private async rebuild(node: string, current: NodeRules, conds: EgressCondition[]): Promise<void> {
    const { backend } = await this.backend();
    const plan = planImpairments(conds, this.lab.nodes, current.devices, backend, this.options.seed);
    if (conds.length === 0 && !(await this.lab.executor(node, false)) && !this.options.dryRun) return; // nothing there, nothing to add
    const exec = await this.writer(node, conds.length > 0);
    await this.teardownImpairments(exec, current);
    await this.apply(exec, plan);
  }

  private async teardownImpairments(exec: NamespaceExecutor, state: NodeRules): Promise<void> {
    if (!state.impairChain && state.impairments.length === 0) return;
    const queues = state.impairments.flatMap((r) => (r.queue !== undefined ? [r.queue] : []));
    const t = planImpairTeardown(state.devices, queues);
    await runCommands(exec, t.iptables, { tolerant: true });
    await runCommands(exec, t.helpers, { tolerant: true });
    await runCommands(exec, t.tc, { tolerant: true });
  }

  /** Helpers first (started and bound), then the tc tree, then the rules that send packets to them. */
  private async apply(exec: NamespaceExecutor, plan: ImpairPlan): Promise<void> {
    for (const h of plan.helpers) {
      await exec.spawn(h.argv);
      if (!this.options.dryRun) await this.waitBound(exec, h.queue);
    }
    await runCommands(exec, plan.tc);
    await runCommands(exec, plan.iptables);
  }

  /** Waits until the helper has bound its queue: only then may a rule send packets to it. */
  private async waitBound(exec: NamespaceExecutor, queue: number): Promise<void> {
    const deadline = Date.now() + (this.options.helperStartMs ?? 5000);
    while (Date.now() < deadline) {
      const [proc, pid] = await Promise.all([exec.run(NFQUEUE_PROC), exec.run(['cat', helperPidfile(queue)])]);
      if (parseNfqueueProc(proc.stdout).has(queue) && pid.exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = await exec.run(['cat', helperLogfile(queue)]);
    throw new AcklabError(`the userspace helper for queue ${queue} on node "${exec.node}" did not start: ${log.stdout.trim() || log.stderr.trim() || 'no log'}`);
  }
}

function toCondition(r: ImpairRecord): EgressCondition {
  return { node: r.node, to: r.to, impairment: r.impairment };
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) m.set(key(i), [...(m.get(key(i)) ?? []), i]);
  return m;
}
