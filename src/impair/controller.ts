/**
 * Puts conditions in force on a running lab, reads them back from the kernel, and removes them.
 * Everything is validated before any namespace is touched; every change is computed by the pure
 * planners and run as argv through a NamespaceExecutor (a sidecar per node).
 *
 * State lives in the kernel only: a node's impairments are read back from its iptables comments,
 * changed, and the node's impairment set is rebuilt (teardown, then apply); cuts are added and
 * deleted rule by rule so other cuts never lapse.
 */
import { AcklabError, errorMessage } from '../common/index.js';
import type { NamespaceExecutor } from '../runtime/sidecar.js';
import { IPTABLES_SAVE, NFQUEUE_PROC, partitionSetup, partitionTeardown } from './iptables.js';
import { helperLogfile, helperPidfile } from './helper.js';
import {
  type Backend,
  ConditionError,
  type Cut,
  type EgressCondition,
  type NodeAddressing,
  validateEgress,
} from './model.js';
import { type ImpairPlan, planCuts, planImpairTeardown, planImpairments, sameCut } from './plan.js';
import { type BackendProbe, probeBackend } from './probe.js';
import { probeBackendInContainer } from './probe-container.js';
import { type ImpairRecord, type RulesState, parseIptablesSave, parseLinkDevices, parseNfqueueProc } from './state.js';

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
  /** The shaper image, for probing in a throwaway container on a dry run. */
  probeImage?: () => Promise<string>;
  /** Upper bound for heal (default 30 s). */
  cleanupTimeoutMs?: number;
  /** How long a helper may take to bind its queue. */
  helperStartMs?: number;
  /** Seed for the helpers' random choices (loss, jitter, …); unset: seeded from the clock. */
  seed?: number;
}

export interface HelperStatus {
  queue: number;
  /** A process is bound to the queue (from /proc/net/netfilter/nfnetlink_queue). */
  alive: boolean;
  kernelDropped: number;
  /** The helper's own counters (received, lost, …) from its stats file. */
  stats?: Record<string, number>;
}

export interface NodeConditions {
  node: string;
  /** Whether the node has a sidecar (no sidecar = nothing was ever applied). */
  sidecar: boolean;
  impairments: (ImpairRecord & { helper?: HelperStatus })[];
  cuts: RulesState['cuts'];
  /** `tc -s qdisc show` per device, as the kernel prints it. */
  qdiscs: Record<string, string>;
  problems: string[];
}

export interface LabConditions {
  lab: string;
  backend?: BackendProbe;
  nodes: NodeConditions[];
  /** Every cut in force, once (deduplicated across its two nodes). */
  cuts: Cut[];
  healthy: boolean;
}

const DRY_DEVICES = ['eth0'];

export class ImpairController {
  private probed?: BackendProbe;

  constructor(
    private readonly lab: LabHandle,
    private readonly options: ControllerOptions = {},
  ) {}

  /** The lab's node names (for validating partitions before anything runs). */
  get nodeNames(): string[] {
    return this.names;
  }

  private get names(): string[] {
    return this.lab.nodes.map((n) => n.name);
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stdout.write(`${l}\n`)))(line);
  }

  /**
   * The backend for this lab's kernel, probed once: in a node that already has a sidecar, else in
   * `prefer`'s (created), else — for a dry run, which must not touch the lab — in a throwaway container.
   */
  async backend(prefer?: string): Promise<BackendProbe> {
    if (this.probed) return this.probed;
    if (this.options.backend) {
      this.probed = { backend: this.options.backend, reason: 'chosen with --backend' };
      return this.probed;
    }
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
    } else if (this.options.probeImage) {
      this.probed = await probeBackendInContainer(await this.options.probeImage());
    } else {
      throw new AcklabError('a dry run needs the backend and no node has a sidecar to probe with; pass --backend netem|userspace');
    }
    return this.probed;
  }

  /** Sets egress conditions (each replaces an existing one for the same node and peer). */
  async impair(conds: EgressCondition[]): Promise<void> {
    const { backend } = await this.backend(conds[0]?.node);
    const problems: string[] = [];
    for (const c of conds) {
      try {
        validateEgress(c, this.names, backend);
      } catch (err) {
        problems.push(...(err instanceof ConditionError ? err.problems : [errorMessage(err)]));
      }
    }
    if (problems.length > 0) throw new ConditionError(problems);
    const byNode = groupBy(conds, (c) => c.node);
    await Promise.all(
      [...byNode].map(async ([node, changes]) => {
        const current = await this.readRules(node);
        const kept = current.impairments.filter((r) => !changes.some((c) => c.to === r.to)).map(toCondition);
        await this.rebuild(node, current, [...kept, ...changes]);
      }),
    );
  }

  /** Adds cuts (a partition is a set of cuts); a cut already in force with the same style is left alone. */
  async partition(cuts: Cut[]): Promise<void> {
    for (const c of cuts) {
      if (!this.names.includes(c.from) || !this.names.includes(c.to)) {
        throw new ConditionError([`unknown node in cut ${c.from} -/-> ${c.to}; the lab's nodes are: ${this.names.join(', ')}`]);
      }
    }
    const nodes = new Set(cuts.flatMap((c) => [c.from, c.to]));
    await Promise.all(
      [...nodes].map(async (node) => {
        const state = await this.readRules(node);
        const exec = await this.exec(node, true);
        const stale = state.cuts.filter((s) => cuts.some((c) => sameCut(c, s) && c.style !== s.style));
        const fresh = cuts.filter((c) => !state.cuts.some((s) => sameCut(c, s) && c.style === s.style));
        const cmds: string[][] = [];
        if (!state.partOutChain) cmds.push(...partitionSetup());
        cmds.push(...(planCuts(stale, this.lab.nodes, '-D').get(node) ?? []));
        cmds.push(...(planCuts(fresh, this.lab.nodes, '-A').get(node) ?? []));
        await this.mutate(exec, cmds);
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
    if (node !== undefined && !this.names.includes(node)) {
      throw new ConditionError([`unknown node "${node}"; the lab's nodes are: ${this.names.join(', ')}`]);
    }
    const failures: string[] = [];
    await Promise.all(
      this.lab.nodes.map(async ({ name }) => {
        try {
          const exec = await this.lab.executor(name, false);
          if (!exec) return; // never impaired: nothing to remove
          const state = await this.readRules(name);
          if (node === undefined) {
            await this.teardownImpairments(exec, state, true);
            if (state.partOutChain || state.partInChain) await this.mutate(exec, partitionTeardown(), true);
            return;
          }
          const kept = state.impairments.filter((r) => name !== node && r.to !== node).map(toCondition);
          if (kept.length !== state.impairments.length) await this.rebuild(name, state, kept);
          const gone = state.cuts.filter((c) => c.from === node || c.to === node);
          const cmds = gone.flatMap((c) => planCuts([c], this.lab.nodes, '-D').get(name) ?? []);
          await this.mutate(exec, cmds, true);
        } catch (err) {
          failures.push(`${name}: ${errorMessage(err)}`);
        }
      }),
    );
    if (failures.length > 0) throw new AcklabError(`heal did not finish on every node:\n  ${failures.join('\n  ')}`);
  }

  /** What is in force, read from the kernel of every node that has a sidecar. */
  async read(): Promise<LabConditions> {
    const nodes = await Promise.all(this.lab.nodes.map(({ name }) => this.readNode(name)));
    const cuts: Cut[] = [];
    for (const n of nodes) for (const c of n.cuts) if (!cuts.some((x) => sameCut(x, c))) cuts.push({ from: c.from, to: c.to, style: c.style });
    const anyQueue = nodes.some((n) => n.impairments.some((i) => i.queue !== undefined));
    const anyNetem = nodes.some((n) => Object.values(n.qdiscs).some((q) => / netem /.test(q)));
    const out: LabConditions = { lab: this.lab.lab, nodes, cuts, healthy: nodes.every((n) => n.problems.length === 0) };
    if (anyQueue) out.backend = { backend: 'userspace', reason: 'NFQUEUE rules in force' };
    else if (anyNetem) out.backend = { backend: 'netem', reason: 'netem qdiscs in force' };
    else if (nodes.some((n) => n.sidecar)) out.backend = await this.backend().catch(() => ({ backend: 'userspace', reason: 'probe failed' }) as BackendProbe);
    return out;
  }

  // ---- internals ----

  private async exec(node: string, create: boolean): Promise<NamespaceExecutor | undefined> {
    return this.lab.executor(node, create && !this.options.dryRun);
  }

  private async readRules(node: string): Promise<RulesState & { devices: string[] }> {
    const exec = await this.exec(node, false);
    if (!exec) return { ...parseIptablesSave('', node), devices: DRY_DEVICES };
    const [save, links] = await Promise.all([exec.run(IPTABLES_SAVE), exec.run(['ip', '-o', 'link', 'show'])]);
    if (save.exitCode !== 0) throw commandError(node, IPTABLES_SAVE, save);
    return { ...parseIptablesSave(save.stdout, node), devices: parseLinkDevices(links.stdout) };
  }

  private async readNode(node: string): Promise<NodeConditions> {
    const exec = await this.exec(node, false);
    const result: NodeConditions = { node, sidecar: exec !== undefined, impairments: [], cuts: [], qdiscs: {}, problems: [] };
    if (!exec) return result;
    const rules = await this.readRules(node);
    const queues = parseNfqueueProc((await exec.run(NFQUEUE_PROC)).stdout);
    for (const dev of rules.devices) {
      result.qdiscs[dev] = (await exec.run(['tc', '-s', 'qdisc', 'show', 'dev', dev])).stdout.trim();
    }
    result.cuts = rules.cuts;
    for (const r of rules.impairments) {
      const rec: NodeConditions['impairments'][number] = { ...r };
      if (r.queue !== undefined) {
        const listener = queues.get(r.queue);
        const stats = await exec.run(['cat', `${helperPidfile(r.queue).replace(/\.pid$/, '.stats')}`]);
        rec.helper = { queue: r.queue, alive: listener !== undefined, kernelDropped: listener ? listener.queueDropped + listener.userDropped : 0 };
        if (stats.exitCode === 0) rec.helper.stats = parseStats(stats.stdout);
        if (!listener) {
          result.problems.push(
            `the helper for ${node} -> ${r.to} (queue ${r.queue}) is not running: the kernel is DROPPING that traffic ` +
              `(NFQUEUE without --queue-bypass, by design); re-apply with \`acklab impair\` or remove with \`acklab heal\``,
          );
        }
      }
      if (r.impairment.rateBps !== undefined && !Object.values(result.qdiscs).some((q) => /qdisc htb 1: root/.test(q))) {
        result.problems.push(`${node} -> ${r.to} has a rate recorded but no htb tree is in force`);
      }
      result.impairments.push(rec);
    }
    return result;
  }

  /** Replaces a node's whole impairment set: teardown what is there, then apply `conds`. */
  private async rebuild(node: string, current: RulesState & { devices: string[] }, conds: EgressCondition[]): Promise<void> {
    const { backend } = await this.backend();
    const plan = planImpairments(conds, this.lab.nodes, current.devices, backend, this.options.seed);
    const exec = await this.exec(node, conds.length > 0);
    if (!exec && !this.options.dryRun) return; // nothing there and nothing to add
    const target = exec ?? dryExecutor(node);
    await this.teardownImpairments(target, current, current.impairChain || current.impairments.length > 0);
    await this.apply(target, plan);
  }

  private async teardownImpairments(exec: NamespaceExecutor, state: RulesState & { devices: string[] }, present: boolean): Promise<void> {
    if (!present) return;
    const queues = state.impairments.flatMap((r) => (r.queue !== undefined ? [r.queue] : []));
    const t = planImpairTeardown(state.devices, queues);
    await this.mutate(exec, t.iptables, true);
    await this.mutate(exec, t.helpers, true);
    await this.mutate(exec, t.tc, true);
  }

  private async apply(exec: NamespaceExecutor, plan: ImpairPlan): Promise<void> {
    for (const h of plan.helpers) {
      if (this.options.dryRun) {
        this.log(`[${exec.node}] ${quoteArgv(h.argv)} &`);
        continue;
      }
      await exec.spawn(h.argv);
      await this.waitBound(exec, h.queue);
    }
    await this.mutate(exec, plan.tc);
    await this.mutate(exec, plan.iptables);
  }

  /** Waits until the helper has bound its queue: only then may a rule send packets to it. */
  private async waitBound(exec: NamespaceExecutor, queue: number): Promise<void> {
    const deadline = Date.now() + (this.options.helperStartMs ?? 5000);
    while (Date.now() < deadline) {
      const proc = await exec.run(NFQUEUE_PROC);
      const pid = await exec.run(['cat', helperPidfile(queue)]);
      if (parseNfqueueProc(proc.stdout).has(queue) && pid.exitCode === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const log = await exec.run(['cat', helperLogfile(queue)]);
    throw new AcklabError(
      `the userspace helper for queue ${queue} on node "${exec.node}" did not start: ${log.stdout.trim() || log.stderr.trim() || 'no log'}`,
    );
  }

  private async mutate(exec: NamespaceExecutor | undefined, cmds: string[][], tolerant = false): Promise<void> {
    for (const argv of cmds) {
      if (this.options.dryRun || !exec) {
        this.log(`[${exec?.node ?? '?'}] ${quoteArgv(argv)}`);
        continue;
      }
      const r = await exec.run(argv);
      if (r.exitCode !== 0 && !tolerant) throw commandError(exec.node, argv, r);
    }
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

function parseStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, k, v] of text.matchAll(/(\w+)=(\d+)/g)) out[k!] = Number(v);
  return out;
}

function dryExecutor(node: string): NamespaceExecutor {
  const ok = { exitCode: 0, stdout: '', stderr: '' };
  return { node, run: async () => ok, spawn: async () => undefined };
}

export function quoteArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./*!-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function commandError(node: string, argv: readonly string[], r: { exitCode: number; stderr: string }): AcklabError {
  return new AcklabError(`on node "${node}": \`${quoteArgv(argv)}\` failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

