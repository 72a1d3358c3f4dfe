/**
 * THE glue between the kernel VM test and src/ (impair, conditions): the only file here that
 * imports it. Each node that holds conditions gets a real `AgentCore` — the agent that runs in the
 * node's sidecar — over a RECORDING host: what the agent would run in its namespace becomes that
 * namespace's steps of the VM script, in the agent's own order, and what it would read is answered
 * here. So the VM runs exactly the agent's commands, and a change in how the agent works changes
 * the VM script with it.
 *
 *   impair / partition / heal   the controller's lab verbs as per-node ops (egressOps, cutOps,
 *              healOps in lab-ops.ts), each node's handed to its agent's `change` — the agent made
 *              (init, configure) when a node first gets something to hold, as the controller does
 *   recorded   every command that changes the kernel: tc, `iptables` (the hooked chains),
 *              `iptables-restore` with its batch as stdin (the switch to a new rules generation,
 *              then the tidy), helpers (a `spawn` step that waits for the helper's pidfile, which the
 *              helper writes once its queue is bound), and a helper's stop (its own `--stop` argv)
 *   answered   reads: the kernel probe (the section's backend; see below), `ip -o link show` (the
 *              lab's devices), `chrt` (refused: no real-time budget in the VM), `iptables-save`
 *              (empty: every namespace is new, and the agent only compares later reads with it),
 *              `tc … show`, and the helper's pidfile and /proc/net/netfilter/nfnetlink_queue (bound)
 *   probe      the VM's kernel has sch_netem, so its probe chooses netem; that probe is run once in
 *              the VM (backendProbeSteps) and replayed into probeBackend. The agents' own probes are
 *              answered with their section's backend: in the netem section every feature works (as
 *              that replay shows this kernel answering), in the userspace section netem is missing,
 *              as on a kernel without sch_netem.
 *
 * No timer fires: the plan is a sequence of immediate changes, with no scheduled step (the agent's
 * `arm` is refused) and no passage of time for the agent's periodic check to read anything.
 */
import { AgentCore, type AgentHost, type ArmedRestore, type HelperProcess } from '../../src/impair/agent/core.js';
import { parseImpairment, partitionCuts, type Cut, type EgressCondition, type ImpairmentInput } from '../../src/conditions/index.js';
import {
  type Backend,
  type BackendProbe,
  type ExecLike,
  type LabOps,
  type NodeAddressing,
  ACKLAB_CHAINS,
  IPTABLES_SAVE,
  KERNEL_PROBES,
  NFQUEUE_PROC,
  cutOps,
  effectiveSave,
  egressOps,
  healOps,
  helperStop,
  probeBackend,
  savedGenerations,
  tcClassShow,
  tcShow,
} from '../../src/impair/index.js';

export type { Backend, BackendProbe, Cut, EgressCondition, ImpairmentInput, NodeAddressing };

/** `acklab impair NODE --to PEER --delay … --loss …` as a condition (validated by the model, units and all). */
export function condition(node: string, to: string, input: ImpairmentInput): EgressCondition {
  return { node, to, impairment: parseImpairment(input, `${node} -> ${to}`) };
}

/** `acklab partition LAB g1 g2 …`: every cut between the groups, both directions, dropping. */
export function partitionOf(...groups: string[][]): Cut[] {
  return partitionCuts({ kind: 'groups', groups });
}

/** One command in one namespace, as the node's agent would run it in that namespace (`stdin`: an iptables-restore batch). */
export type NsStep =
  | { kind: 'run'; ns: string; argv: string[]; tolerant?: boolean; capture?: string; stdin?: string }
  | { kind: 'spawn'; ns: string; argv: string[]; readyPidfile: string };

export interface KernelLab {
  /** The lab as the controller sees it: node names and their IPv4 addresses. */
  nodes: NodeAddressing[];
  /** Node → the network namespace it lives in (several nodes may share one; only one of them may hold conditions). */
  nsOf: Record<string, string>;
  /** Node → its interfaces (what the agent reads with `ip -o link show`). */
  devices: Record<string, string[]>;
}

interface Agent {
  core: AgentCore;
  host: RecordingHost;
  problems: string[];
}

/** A lab's conditions as the nodes' agents put them in force; each verb returns the commands they run. */
export class PlannedLab {
  private readonly agents = new Map<string, Agent>();

  constructor(
    private readonly lab: KernelLab,
    private readonly backend: Backend,
    private readonly seed: number,
  ) {}

  /** `acklab impair`: each condition replaces the one for the same node and peer. */
  impair(changes: EgressCondition[]): Promise<NsStep[]> {
    return this.apply(egressOps(changes), true);
  }

  /** `acklab partition`: cuts added, each on both of its nodes. */
  partition(cuts: Cut[]): Promise<NsStep[]> {
    return this.apply(cutOps(cuts), true);
  }

  /** `acklab heal` (the whole lab): every node that has an agent drops everything. */
  heal(): Promise<NsStep[]> {
    return this.apply(healOps(this.lab.nodes.map((n) => n.name)), false);
  }

  /**
   * What `acklab conditions` reads from a node's kernel (the agent's status), captured: the qdiscs
   * per device as `<id>.tc.<dev>.0` and the classes with their counters as `<id>.tc.<dev>.1`, the
   * ruleset as `<id>.rules`, the NFQUEUE listeners as `<id>.queues`.
   */
  readBack(node: string, id: string): NsStep[] {
    const ns = this.ns(node);
    // The agent's own check reads the classes without counters (tcClassShow); the test wants the counters.
    const classes = (dev: string) => ['tc', '-s', 'class', 'show', 'dev', dev];
    return [
      ...this.devices(node).flatMap((dev) => [tcShow(dev), classes(dev)].map((argv, i): NsStep => ({ kind: 'run', ns, argv, capture: `${id}.tc.${dev}.${i}` }))),
      { kind: 'run', ns, argv: [...IPTABLES_SAVE], capture: `${id}.rules` },
      { kind: 'run', ns, argv: [...NFQUEUE_PROC], tolerant: true, capture: `${id}.queues` },
    ];
  }

  /** Each node's ops to its agent, one node after the other (the controller sends them at once; the VM runs one command at a time). */
  private async apply(ops: LabOps, createAgents: boolean): Promise<NsStep[]> {
    const steps: NsStep[] = [];
    for (const [node, nodeOps] of ops) {
      const adds = nodeOps.some((o) => o.op === 'impair' || o.op === 'cut');
      const agent = await this.agent(node, createAgents && adds);
      if (!agent) continue;
      const record = await agent.core.change(nodeOps);
      steps.push(...agent.host.take());
      if (!record.ok) throw new Error(`the agent of node "${node}" failed to switch: ${record.error ?? 'no reason given'}`);
      if (agent.problems.length > 0) throw new Error(`the agent of node "${node}" reported: ${agent.problems.join('; ')}`);
    }
    return steps;
  }

  /** The node's agent; made (probe, chains hooked, configured) when `create`. Its first steps go with the first change's. */
  private async agent(node: string, create: boolean): Promise<Agent | undefined> {
    const existing = this.agents.get(node);
    if (existing || !create) return existing;
    const ns = this.ns(node);
    const other = [...this.agents.keys()].find((n) => this.ns(n) === ns);
    if (other !== undefined) {
      throw new Error(
        `nodes "${other}" and "${node}" share namespace "${ns}" and both hold conditions: an agent owns its namespace's acklab chains, ` +
          'so give each node that is impaired or cut a namespace of its own',
      );
    }
    const host = new RecordingHost(ns, this.backend, this.devices(node));
    const problems: string[] = [];
    const core = new AgentCore(host, (e) => {
      if (e.event === 'problem') problems.push(e.reason);
    });
    await core.init();
    if (core.backend() !== this.backend) throw new Error(`the agent of node "${node}" chose the ${core.backend()} backend, not ${this.backend}`);
    await core.configure(node, Object.fromEntries(this.lab.nodes.map((n) => [n.name, n.addresses])), this.seed);
    const agent = { core, host, problems };
    this.agents.set(node, agent);
    return agent;
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

const ok = (stdout = ''): ExecLike => ({ exitCode: 0, stdout, stderr: '' });
const sameArgv = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
/** What the agent runs to find its devices (src/impair/agent/core.ts). */
const LINK_SHOW = ['ip', '-o', 'link', 'show'];
const NFQUEUE_FILE = NFQUEUE_PROC[1]!;

/** A helper's flag value from its argv (helperStart), e.g. `--queue`. */
function flag(argv: readonly string[], name: string): string {
  const i = argv.indexOf(name);
  const v = i >= 0 ? argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`the helper's argv has no ${name}: ${argv.join(' ')}`);
  return v;
}

/**
 * An AgentHost that records what an agent does to its namespace as VM steps and answers what it
 * reads (see the file's comment). Its clock only moves when the agent sleeps.
 */
class RecordingHost implements AgentHost {
  private steps: NsStep[] = [];
  private clockMs = 0;
  private lastPid = 1000;
  /** Helpers started and not stopped: queue → pid (as the VM's helper would write it in its pidfile). */
  private readonly bound = new Map<number, { pid: number; pidfile: string }>();
  private readonly reads: readonly (readonly string[])[];

  constructor(
    private readonly ns: string,
    private readonly backend: Backend,
    private readonly devices: readonly string[],
  ) {
    this.reads = [IPTABLES_SAVE, NFQUEUE_PROC, ...devices.flatMap((d) => [tcShow(d), tcClassShow(d)])];
  }

  /** The steps recorded since the last call. */
  take(): NsStep[] {
    const out = this.steps;
    this.steps = [];
    return out;
  }

  now(): number {
    return this.clockMs;
  }

  async sleep(ms: number): Promise<void> {
    this.clockMs += ms;
  }

  at(): () => void {
    return () => {};
  }

  async setPriority(): Promise<boolean> {
    return false;
  }

  async promoteAt(): Promise<boolean> {
    return false;
  }

  async cancelPromotions(): Promise<boolean> {
    return false;
  }

  arm(argv: readonly string[]): ArmedRestore {
    throw new Error(`the kernel VM plan has no scheduled steps, yet the agent in namespace "${this.ns}" armed \`${argv.join(' ')}\``);
  }

  async run(argv: readonly string[], stdin?: string): Promise<ExecLike> {
    const probe = KERNEL_PROBES.find((p) => sameArgv(p.add, argv) || sameArgv(p.remove, argv));
    if (probe) {
      const missing = probe.feature === 'netem' && this.backend !== 'netem' && sameArgv(probe.add, argv);
      return missing ? { exitCode: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n' } : ok();
    }
    if (sameArgv(argv, ['iptables', '-V'])) return ok('iptables v1.8.9 (nf_tables)\n');
    if (sameArgv(argv, LINK_SHOW)) return ok(['lo', ...this.devices].map((d, i) => `${i + 1}: ${d}: <UP,LOWER_UP> mtu 1500\n`).join(''));
    if (argv[0] === 'chrt') return { exitCode: 1, stdout: '', stderr: 'chrt: the kernel VM gives no real-time budget\n' };
    if (sameArgv(argv, NFQUEUE_PROC)) return ok(this.listeners());
    if (this.reads.some((r) => sameArgv(r, argv))) return ok();
    this.steps.push({ kind: 'run', ns: this.ns, argv: [...argv], ...(stdin !== undefined ? { stdin } : {}) });
    return ok();
  }

  spawn(argv: readonly string[]): HelperProcess {
    const queue = Number(flag(argv, '--queue'));
    const pidfile = flag(argv, '--pidfile');
    const pid = ++this.lastPid;
    this.steps.push({ kind: 'spawn', ns: this.ns, argv: [...argv], readyPidfile: pidfile });
    this.bound.set(queue, { pid, pidfile });
    let exit!: (r: { code: number | null; signal: string | null }) => void;
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => (exit = resolve));
    return {
      pid,
      exited,
      kill: () => {
        // The first signal stops it (the helper's own --stop: SIGTERM, then waiting for it to go); later ones find it gone.
        if (this.bound.get(queue)?.pid !== pid) return;
        this.bound.delete(queue);
        this.steps.push({ kind: 'run', ns: this.ns, argv: helperStop(queue) });
        exit({ code: 0, signal: null });
      },
    };
  }

  async readFile(path: string): Promise<string | undefined> {
    if (path === NFQUEUE_FILE) return this.listeners();
    const helper = [...this.bound.values()].find((h) => h.pidfile === path);
    return helper ? `${helper.pid}\n` : undefined;
  }

  /** /proc/net/netfilter/nfnetlink_queue with every running helper bound to its queue. */
  private listeners(): string {
    return [...this.bound].map(([q, h]) => `${String(q).padStart(5)} ${String(h.pid).padStart(10)} 0 2 65531 0 0 0 1\n`).join('');
  }
}

/**
 * What `iptables-save` shows of acklab's rules: those in force (the generation each hooked chain's
 * goto names, read as the hooked chain's own) and the generations whose chains still exist.
 */
export function acklabRules(save: string): { inForce: string[]; generations: number[] } {
  const inForce = effectiveSave(save).filter((l) => ACKLAB_CHAINS.some((c) => new RegExp(`^(\\[\\d+:\\d+\\] )?-A ${c} `).test(l)));
  return { inForce, generations: savedGenerations(save) };
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
