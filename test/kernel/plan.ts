/**
 * THE glue between the kernel VM test and the controller's planning API (src/impair): the only
 * file here that calls it. It turns the controller's verbs — impair, partition, heal, and the
 * backend probe — into the exact argv lists the controller sends, per network namespace, for a
 * small real topology. When the controller changes how it emits its plan (iptables-restore
 * batches, `-j CLASSIFY --set-class` instead of u32 filters, …), this file is what gets rewired.
 *
 * It follows src/impair/controller.ts step for step:
 *   impair     per node: the node's set is rebuilt — teardown of what is in force (tolerant), then
 *              helpers (spawned, waited on until bound) → tc tree → iptables rules
 *   partition  per namespace: the chains once (partitionSetup), then each cut's rules (planCuts -A)
 *   heal       per namespace: impairments torn down, partition chains removed (all tolerant)
 *   probe      the argv probeBackend runs, captured in the VM, then replayed into probeBackend itself
 *
 * What the controller reads back from the kernel (rules in force, queues, chains) is tracked here
 * instead, from what this file emitted.
 */
import {
  type Backend,
  type BackendProbe,
  type Cut,
  type EgressCondition,
  type ImpairmentInput,
  type NodeAddressing,
  IPTABLES_SAVE,
  NFQUEUE_PROC,
  helperPidfile,
  parseImpairment,
  partitionCuts,
  partitionSetup,
  partitionTeardown,
  planCuts,
  planImpairTeardown,
  planImpairments,
  probeBackend,
  tcShow,
} from '../../src/impair/index.js';

export type { Backend, BackendProbe, Cut, EgressCondition, ImpairmentInput, NodeAddressing };

/** `acklab impair NODE --to PEER --delay … --loss …` as a condition (validated by the model, units and all). */
export function condition(node: string, to: string, input: ImpairmentInput): EgressCondition {
  return { node, to, impairment: parseImpairment(input, `${node} -> ${to}`) };
}

/** `acklab partition LAB g1 g2 …`: every cut between the groups, both directions, dropping. */
export function partitionOf(...groups: string[][]): Cut[] {
  return partitionCuts(groups);
}

/** One command in one namespace, as the controller's executor would run it in that node's sidecar (`stdin`: e.g. an iptables-restore batch). */
export type NsStep =
  | { kind: 'run'; ns: string; argv: string[]; tolerant?: boolean; capture?: string; stdin?: string }
  | { kind: 'spawn'; ns: string; argv: string[]; readyPidfile: string };

export interface KernelLab {
  /** The lab as the controller sees it: node names and their IPv4 addresses. */
  nodes: NodeAddressing[];
  /** Node → the network namespace it lives in (several nodes may share one). */
  nsOf: Record<string, string>;
  /** Node → its interfaces (what the controller reads with `ip -o link show`). */
  devices: Record<string, string[]>;
}

interface InForce {
  conds: EgressCondition[];
  queues: number[];
}

/** A lab's conditions, planned the controller's way; each verb returns the commands it sends. */
export class PlannedLab {
  private readonly impairments = new Map<string, InForce>();
  private readonly chains = new Set<string>();

  constructor(
    private readonly lab: KernelLab,
    private readonly backend: Backend,
    private readonly seed: number,
  ) {}

  /** `acklab impair`: each condition replaces the one for the same node and peer. */
  impair(changes: EgressCondition[]): NsStep[] {
    const steps: NsStep[] = [];
    for (const node of new Set(changes.map((c) => c.node))) {
      const ns = this.ns(node);
      const current = this.impairments.get(node);
      const mine = changes.filter((c) => c.node === node);
      const kept = (current?.conds ?? []).filter((c) => !mine.some((m) => m.to === c.to));
      const conds = [...kept, ...mine];
      if (current) steps.push(...this.teardown(node, current));
      const plan = planImpairments(conds, this.lab.nodes, this.devices(node), this.backend, this.seed);
      for (const h of plan.helpers) steps.push({ kind: 'spawn', ns, argv: h.argv, readyPidfile: helperPidfile(h.queue) });
      steps.push(...[...plan.tc, ...plan.iptables].map((argv) => run(ns, argv)));
      this.impairments.set(node, { conds, queues: plan.helpers.map((h) => h.queue) });
    }
    return steps;
  }

  /** `acklab partition`: cuts added; a namespace gets its chains the first time. */
  partition(cuts: Cut[]): NsStep[] {
    const steps: NsStep[] = [];
    for (const [node, cmds] of planCuts(cuts, this.lab.nodes, '-A')) {
      const ns = this.ns(node);
      if (!this.chains.has(ns)) {
        steps.push(...partitionSetup().map((argv) => run(ns, argv)));
        this.chains.add(ns);
      }
      steps.push(...cmds.map((argv) => run(ns, argv)));
    }
    return steps;
  }

  /** `acklab heal` (the whole lab): every impairment and every partition chain, tolerantly. */
  heal(): NsStep[] {
    const steps: NsStep[] = [];
    for (const [node, current] of this.impairments) steps.push(...this.teardown(node, current));
    this.impairments.clear();
    for (const ns of this.chains) steps.push(...partitionTeardown().map((argv) => run(ns, argv, true)));
    this.chains.clear();
    return steps;
  }

  /**
   * What `acklab conditions` reads from a node's kernel, captured: the qdisc tree per device
   * (tc -s qdisc/class, filters) as `<id>.tc.<dev>.<i>`, the ruleset as `<id>.rules`, the NFQUEUE listeners as `<id>.queues`.
   */
  readBack(node: string, id: string): NsStep[] {
    const ns = this.ns(node);
    return [
      ...this.devices(node).flatMap((dev) => tcShow(dev).map((argv, i) => ({ ...run(ns, argv), capture: `${id}.tc.${dev}.${i}` }))),
      { ...run(ns, [...IPTABLES_SAVE]), capture: `${id}.rules` },
      { ...run(ns, [...NFQUEUE_PROC], true), capture: `${id}.queues` },
    ];
  }

  private teardown(node: string, current: InForce): NsStep[] {
    const t = planImpairTeardown(this.devices(node), current.queues);
    return [...t.iptables, ...t.helpers, ...t.tc].map((argv) => run(this.ns(node), argv, true));
  }

  private ns(node: string): string {
    const ns = this.lab.nsOf[node];
    if (!ns) throw new Error(`node "${node}" has no namespace in the kernel lab`);
    return ns;
  }

  private devices(node: string): string[] {
    return this.lab.devices[node] ?? [];
  }
}

function run(ns: string, argv: string[], tolerant = false): NsStep {
  return tolerant ? { kind: 'run', ns, argv, tolerant } : { kind: 'run', ns, argv };
}

export interface Captured {
  rc: number;
  stdout: string;
  stderr: string;
}

const probeKey = (argv: readonly string[]) => argv.join('\u0000');

/**
 * Every argv probeBackend may run — the netem path and the NFQUEUE fallback — found by calling it
 * with runners that answer yes and no; captured in the VM so that `chooseBackend` can replay them.
 */
export async function backendProbeSteps(ns: string, idPrefix: string): Promise<{ steps: Extract<NsStep, { kind: 'run' }>[]; ids: Map<string, string> }> {
  const seen: string[][] = [];
  const record = (fail: boolean) => async (argv: readonly string[]) => {
    if (!seen.some((s) => probeKey(s) === probeKey(argv))) seen.push([...argv]);
    return fail && probeKey(argv) === probeKey(seen[0]!) ? { exitCode: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.' } : { exitCode: 0, stdout: '', stderr: '' };
  };
  await probeBackend(record(false));
  await probeBackend(record(true));
  const ids = new Map<string, string>();
  const steps = seen.map((argv, i) => {
    const id = `${idPrefix}.${i}`;
    ids.set(probeKey(argv), id);
    return { kind: 'run' as const, ns, argv, tolerant: true, capture: id };
  });
  return { steps, ids };
}

/** The project's own probe, fed with what the VM's kernel answered. */
export async function chooseBackend(ids: Map<string, string>, captured: (id: string) => Captured | undefined): Promise<BackendProbe> {
  return probeBackend(async (argv) => {
    const id = ids.get(probeKey(argv));
    const c = id === undefined ? undefined : captured(id);
    if (!c) throw new Error(`the VM did not run the probe command ${argv.join(' ')}`);
    return { exitCode: c.rc, stdout: c.stdout, stderr: c.stderr };
  });
}
