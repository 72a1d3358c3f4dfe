/**
 * The agent's logic, over an injected host (processes, files, clock) so it is tested without a
 * kernel. It owns one node's conditions:
 *
 *   state      what should be in force (NodeState); changed by `change`, scheduled steps, and by
 *              itself when an entry's `untilMs` passes (auto-revert survives the CLI that set it)
 *   stages     the resources states need (tc classes, userspace helpers), built ahead and reused
 *   switch     one iptables-restore batch; for a scheduled step the process is started just before
 *              its time and handed the batch at the time, so the step lands on the millisecond
 *   check      every CHECK_EVERY_MS: the acklab chains and classes are what the last switch left,
 *              and every helper still runs — else a problem is reported at once to every watcher
 */
import { parseLinkDevices, parseIptablesSave } from '../state.js';
import { ACKLAB_CHAINS, IPTABLES_RESTORE, IPTABLES_SAVE, NFQUEUE_PROC, chainSetup, chainTeardown, effectiveSave, savedGenerations, tidyBatch } from '../iptables.js';
import { helperPidfile, helperStatsfile } from '../helper.js';
import type { Backend } from '../model.js';
import { chooseBackend, probeKernel, type BackendProbe, type ExecLike } from '../probe.js';
import {
  EMPTY_STATE,
  allocateStages,
  applyOps,
  expire,
  renderGeneration,
  renderRestore,
  stageSetup,
  stageTeardown,
  type Addressing,
  type NodeOp,
  type NodeState,
  type Stage,
} from '../render.js';
import { tcClassShow, tcRoot, tcShow, tcTeardown } from '../tc.js';
import type { AgentEvent, AgentStatus, Hello, HelperState, Problem, ScheduledStep, SwitchRecord } from './protocol.js';
import { AGENT_PROTOCOL } from './protocol.js';

export const CHECK_EVERY_MS = 400;
/**
 * A scheduled step is armed this long before its time: the agent takes real-time priority (when the
 * sidecar has a budget for it) and starts the step's iptables-restore, so neither the wake-up nor
 * the process start-up is in the lag.
 */
export const ARM_AHEAD_MS = 300;
/** The SCHED_FIFO priority of the agent while a step is armed, and of the step's iptables-restore. */
export const SWITCH_PRIORITY = 10;
/**
 * acklab-sched raises the agent this long before a step's arming: the arming timer then runs at
 * real-time priority, even when the agent at the default policy would wait seconds for a CPU.
 */
export const PROMOTE_AHEAD_MS = 20;
/** Steps staged and not started yet: the agent waits for the start at real-time priority this long at most. */
const START_WAIT_MS = 10_000;
/** Whether this sidecar may run SCHED_FIFO (CAP_SYS_NICE and a real-time budget in its cgroup). */
const RT_PROBE = ['chrt', '-f', '1', 'true'];
const HELPER_BIND_MS = 5000;
/** How long a status read waits for an armed step to switch before it reads all the same. */
const STATUS_WAIT_MS = 1000;
/**
 * Before a step is armed, no check or read starts a process for this long: a child at the default
 * policy may wait for a CPU on a loaded machine, and the agent waits for it to exec.
 */
const QUIET_BEFORE_ARM_MS = 250;
const RECORDS_KEPT = 500;

export interface HelperProcess {
  pid: number;
  /** Resolves when the process ends, however it ends. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
}

/** A started `iptables-restore` waiting for its batch. */
export interface ArmedRestore {
  /** Writes the batch and closes stdin; resolves when the process has exited (the rules are in force). */
  commit(batch: string): Promise<ExecLike>;
  abort(): void;
}

export interface AgentHost {
  now(): number;
  run(argv: readonly string[], stdin?: string): Promise<ExecLike>;
  spawn(argv: readonly string[]): HelperProcess;
  /** Starts `argv` (an iptables-restore) to wait for its batch, at the agent's policy of the moment. */
  arm(argv: readonly string[]): ArmedRestore;
  /**
   * The agent's own scheduling: SCHED_FIFO at `priority` (children it starts meanwhile inherit it,
   * and those `run` started that still run are raised with it), or back to the default when null.
   * Resolves false when it was refused.
   */
  setPriority(priority: number | null): Promise<boolean>;
  /**
   * SCHED_FIFO at `priority` for the agent at epoch ms `atMs`, made by a real-time helper whatever
   * the agent does then (its own timer may fire late while it waits for a CPU). Resolves false
   * when it was refused.
   */
  promoteAt(atMs: number, priority: number): Promise<boolean>;
  /** Forgets every promotion asked for that has not been made yet. */
  cancelPromotions(): Promise<boolean>;
  readFile(path: string): Promise<string | undefined>;
  /** Calls `fn` at epoch ms `atMs` (as close as the host can); returns a cancel function. */
  at(atMs: number, fn: () => void): () => void;
  sleep(ms: number): Promise<void>;
}

interface Pending extends ScheduledStep {
  /** Epoch ms it switches at, once the timeline's zero is known. */
  dueMs?: number;
  cancel?: () => void;
  armed?: ArmedRestore;
  cancelArm?: () => void;
  /** The generation made ahead for the state this step is expected to lead to (see `prepare`). */
  prepared?: { gen: number; key: string; ready: boolean };
}

interface RunningHelper {
  stage: Stage;
  process: HelperProcess;
  stopping: boolean;
}

export class AgentCore {
  node: string | null = null;
  private addressing: Addressing = {};
  private seed: number | undefined;
  private probe!: BackendProbe;
  private devices: string[] = [];
  private state: NodeState = EMPTY_STATE;
  private stages = new Map<string, Stage>();
  private readonly helpers = new Map<string, RunningHelper>();
  private readonly rootOn = new Set<string>();
  private pending: Pending[] = [];
  private readonly records: SwitchRecord[] = [];
  private readonly problems: Problem[] = [];
  private snapshot: { rules: string; classes: Record<string, string> } | undefined;
  private expiry: (() => void) | undefined;
  private checker: (() => void) | undefined;
  /** One change at a time: every switch, scheduled or not, goes through this chain. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped at the start and end of every transition: a check that saw it change compares nothing. */
  private generation = 0;
  private transitioning = false;
  /** The agent may run SCHED_FIFO here (probed at init). */
  private realtime = false;
  /** Status reads waiting for the armed step's switch (see outsideArmedWindow). */
  private readonly afterSwitch: (() => void)[] = [];
  /** The agent runs SCHED_FIFO now: from a step's arming until no step is due soon. */
  private fifo = false;
  /** Steps are staged and wait for their start: the agent is real-time until then (bounded). */
  private awaitingStart: (() => void) | undefined;
  /** The last rules generation used, the one in force, and every one whose chains are in the kernel. */
  private lastGen = 0;
  private currentGen: number | null = null;
  private readonly gens = new Set<number>();

  constructor(
    private readonly host: AgentHost,
    private readonly emit: (e: AgentEvent) => void = () => {},
  ) {}

  /** Probes the kernel, finds the devices, hooks the chains in (empty), starts checking. */
  async init(): Promise<void> {
    this.probe = chooseBackend(await probeKernel((argv) => this.host.run(argv)));
    this.devices = parseLinkDevices((await this.host.run(['ip', '-o', 'link', 'show'])).stdout);
    this.realtime = (await this.host.run(RT_PROBE)).exitCode === 0;
    // A namespace that already has the chains (an earlier sidecar of the same node) starts empty again.
    const save = (await this.host.run(IPTABLES_SAVE)).stdout;
    const existing = parseIptablesSave(save, '?');
    if (!existing.impairChain) for (const argv of chainSetup()) await this.must(argv);
    else {
      const stale = savedGenerations(save);
      this.lastGen = Math.max(0, ...stale);
      await this.must(IPTABLES_RESTORE, tidyBatch(null, stale));
    }
    await this.takeSnapshot();
    this.armCheck();
  }

  backend(): Backend {
    return this.probe.backend;
  }

  hello(): Hello {
    return { protocol: AGENT_PROTOCOL, node: this.node, backend: this.probe, devices: this.devices, nowMs: this.host.now(), pid: process.pid, realtime: this.realtime };
  }

  async configure(node: string, addressing: Addressing, seed?: number): Promise<void> {
    return this.serial(async () => {
      const changed = JSON.stringify(addressing) !== JSON.stringify(this.addressing);
      this.node = node;
      this.addressing = addressing;
      if (seed !== undefined) this.seed = seed;
      // A peer that came back with another address: the rules naming it are rewritten.
      if (changed && (this.state.impairments.length > 0 || this.state.cuts.length > 0)) await this.transition(this.state);
    });
  }

  /** Applies ops now; resolves once they are in force. */
  async change(ops: readonly NodeOp[]): Promise<SwitchRecord> {
    return this.serial(async () => this.transition(applyOps(this.state, ops, this.self())));
  }

  /**
   * Stages every step's resources (all the states the steps lead to need), so that a step later is
   * one batch and nothing else; arms them now when the zero is given, else at `start`.
   */
  async schedule(steps: readonly ScheduledStep[], t0Ms?: number): Promise<{ staged: number }> {
    return this.serial(async () => {
      this.pending.push(...steps.map((s) => ({ ...s })));
      await this.ensureStages(allocateStages([this.state, ...this.pendingStates()], this.stages, this.backend()));
      if (t0Ms !== undefined) this.startAt(t0Ms);
      else if (steps.length > 0) this.waitForStart();
      return { staged: steps.length };
    });
  }

  /** The timeline's zero: every staged step is armed at t0Ms + its atMs. */
  start(t0Ms: number): { armed: number } {
    return { armed: this.startAt(t0Ms) };
  }

  cancel(ids?: readonly string[]): void {
    const dropped = this.pending.filter((x) => !ids || ids.includes(x.id));
    for (const p of dropped) {
      p.cancel?.();
      p.cancelArm?.();
      p.armed?.abort();
    }
    this.pending = ids ? this.pending.filter((p) => !ids.includes(p.id)) : [];
    if (this.pending.every((p) => p.dueMs !== undefined)) this.stopWaitingForStart();
    if (this.realtime && dropped.some((p) => p.dueMs !== undefined)) {
      // acklab-sched forgets the dropped steps' promotions (the others are asked for again); one
      // made already has left the agent real-time, whatever it thought
      if (dropped.some((p) => p.dueMs! - ARM_AHEAD_MS - PROMOTE_AHEAD_MS <= this.host.now())) this.fifo = true;
      void this.host.cancelPromotions();
      for (const p of this.pending) if (p.dueMs !== undefined) this.promote(p);
    }
    void this.setFifo(this.stepDueWithin(2 * ARM_AHEAD_MS) || this.awaitingStart !== undefined);
    if (!this.stepNear()) this.releaseReads();
  }

  /** Removes everything: pending steps, conditions, helpers, classes, and the chains. */
  async teardown(): Promise<void> {
    this.cancel();
    await this.serial(async () => {
      await this.transition(EMPTY_STATE);
      for (const dev of this.rootOn) for (const argv of tcTeardown(dev)) await this.host.run(argv);
      this.rootOn.clear();
      for (const argv of chainTeardown([...this.gens])) await this.host.run(argv);
      this.gens.clear();
      this.currentGen = null;
      this.checker?.();
      this.checker = undefined;
      this.snapshot = undefined;
    });
  }

  async status(): Promise<AgentStatus> {
    await this.outsideArmedWindow();
    const read = (argv: readonly string[]) => this.host.run(this.atDefaultPolicy(argv));
    const [save, nfq, ...qdiscs] = await Promise.all([read(IPTABLES_SAVE), read(NFQUEUE_PROC), ...this.devices.map((d) => read(tcShow(d)))]);
    const helpers: HelperState[] = [];
    for (const [key, h] of this.helpers) {
      const stats = await this.host.readFile(helperStatsfile(h.stage.queue!));
      const state: HelperState = { queue: h.stage.queue!, to: h.stage.to, pid: h.process.pid, alive: !h.stopping && this.alive.has(key) };
      if (stats !== undefined) state.stats = Object.fromEntries([...stats.matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
      helpers.push(state);
    }
    return {
      node: this.node,
      backend: this.backend(),
      realtime: this.realtime,
      generation: this.currentGen ?? 0,
      devices: this.devices,
      state: this.state,
      stages: [...this.stages.values()],
      helpers,
      pending: this.pending.map((p) => ({ id: p.id, atMs: p.atMs, ops: p.ops, ...(p.dueMs !== undefined ? { dueMs: p.dueMs } : {}) })),
      records: [...this.records],
      problems: [...this.problems],
      kernel: { iptablesSave: save!.stdout, qdiscs: Object.fromEntries(this.devices.map((d, i) => [d, qdiscs[i]!.stdout.trim()])), nfqueue: nfq!.stdout },
    };
  }

  stop(): void {
    this.cancel();
    this.expiry?.();
    this.checker?.();
  }

  // ---- switching ----

  private self(): string {
    return this.node ?? '?';
  }

  /** The states the pending steps lead to, in their order. */
  private pendingStates(): NodeState[] {
    const out: NodeState[] = [];
    let s = this.state;
    for (const p of [...this.pending].sort((a, b) => a.atMs - b.atMs)) out.push((s = applyOps(s, p.ops, this.self())));
    return out;
  }

  private startAt(t0Ms: number): number {
    let armed = 0;
    for (const p of this.pending) {
      if (p.dueMs !== undefined) continue;
      p.dueMs = t0Ms + p.atMs;
      this.arm(p);
      armed++;
    }
    if (this.awaitingStart) {
      this.stopWaitingForStart();
      void this.setFifo(this.stepDueWithin(2 * ARM_AHEAD_MS));
    }
    return armed;
  }

  /**
   * Real-time until the staged steps' start comes (or START_WAIT_MS): on a starved machine the
   * agent at the default policy might read the start only after the first step's arming time.
   */
  private waitForStart(): void {
    if (!this.realtime) return;
    this.stopWaitingForStart();
    void this.setFifo(true);
    this.awaitingStart = this.host.at(this.host.now() + START_WAIT_MS, () => {
      this.awaitingStart = undefined;
      void this.setFifo(this.stepDueWithin(2 * ARM_AHEAD_MS));
    });
  }

  private stopWaitingForStart(): void {
    this.awaitingStart?.();
    this.awaitingStart = undefined;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Puts `next` in force now: stages first, one batch, then what no state needs any more goes. */
  private async transition(next: NodeState, record: Partial<SwitchRecord> = {}, pending?: Pending): Promise<SwitchRecord> {
    this.transitioning = true;
    this.generation++;
    try {
      return await this.transitionNow(next, record, pending);
    } finally {
      this.generation++;
      this.transitioning = false;
    }
  }

  private async transitionNow(next: NodeState, record: Partial<SwitchRecord>, pending?: Pending): Promise<SwitchRecord> {
    const armed = pending?.armed;
    const firedAtMs = record.firedAtMs ?? this.host.now();
    const needed = allocateStages([next, ...this.pendingStates()], this.stages, this.backend());
    await this.ensureStages(needed);
    // the generation made ahead, if the state is the one it was made for: the switch is three gotos
    const prepared = pending?.prepared?.ready && pending.prepared.key === JSON.stringify(next) ? pending.prepared : undefined;
    const gen = prepared?.gen ?? ++this.lastGen;
    const batch = renderRestore(next, this.stages, this.addressing, gen, prepared !== undefined);
    const r = armed ? await armed.commit(batch) : await this.host.run(IPTABLES_RESTORE, batch);
    // even a failed batch may have committed one table: its chains go at the next tidy
    this.gens.add(gen);
    const switchedAtMs = this.host.now();
    const done: SwitchRecord = { ...record, firedAtMs, switchedAtMs, ok: r.exitCode === 0 };
    if (r.exitCode !== 0) {
      done.error = `iptables-restore failed (exit ${r.exitCode}): ${r.stderr.trim()}`;
      this.report(`a switch failed on ${this.self()}: ${done.error}`);
    } else {
      this.state = next;
      this.currentGen = gen;
    }
    this.records.push(done);
    if (this.records.length > RECORDS_KEPT) this.records.shift();
    this.emit({ event: 'switched', ...done });
    // Back to the default policy, unless the next step is close: no churn between steps of a burst.
    // What follows is not on any step's clock, so it does not spend the sidecar's real-time budget:
    // a budget spent stops every real-time task of the sidecar until its next period (up to 1 s).
    if (pending) await this.setFifo(this.stepDueWithin(2 * ARM_AHEAD_MS) || this.awaitingStart !== undefined);
    this.releaseReads();
    if (done.ok) {
      // What no state needs any more goes, and the check learns the new rules — unless the next
      // step is due soon: then the last step of the burst does it, and the next switch waits for nothing.
      this.snapshot = undefined;
      await this.housekeep();
      this.armExpiry();
    }
    return done;
  }

  /**
   * Makes, ahead of a step's time, the generation of chains for the state the step is expected to
   * lead to (after the steps due before it), reached by nothing yet. At its time, if that is still
   * the state, the switch only inserts the gotos.
   */
  private async prepare(p: Pending): Promise<void> {
    let expected = this.state;
    for (const q of [...this.pending].sort((a, b) => a.atMs - b.atMs)) {
      expected = applyOps(expected, q.ops, this.self());
      if (q === p) break;
    }
    if (!this.pending.includes(p)) return;
    const gen = ++this.lastGen;
    this.gens.add(gen);
    const prepared = { gen, key: JSON.stringify(expected), ready: false };
    p.prepared = prepared;
    const r = await this.host.run(IPTABLES_RESTORE, renderGeneration(expected, this.stages, this.addressing, gen)).catch(() => undefined);
    prepared.ready = r?.exitCode === 0;
  }

  /**
   * After a switch, what is on no step's clock: older generations tidied, the rules read for the
   * check, stages no state needs dropped. Each part only while no step is near, since the next
   * switch queues behind it: on a loaded machine these processes may take longer than the time to
   * the next step. What is skipped is done after a later switch (the check waits for its read).
   */
  private async housekeep(): Promise<void> {
    for (const part of [() => this.tidy(), () => this.takeSnapshot(), () => this.dropUnneeded()]) {
      if (this.stepNear()) return;
      await part();
    }
  }

  /** The hooked chains down to the current generation's goto; the older generations deleted. */
  private async tidy(): Promise<void> {
    const keep = new Set(this.pending.flatMap((p) => (p.prepared ? [p.prepared.gen] : [])));
    const stale = [...this.gens].filter((g) => g !== this.currentGen && !keep.has(g));
    if (stale.length === 0) return;
    const r = await this.host.run(IPTABLES_RESTORE, tidyBatch(this.currentGen, stale));
    if (r.exitCode === 0) for (const g of stale) this.gens.delete(g);
  }

  /**
   * A command that is on no step's clock, to run at the default policy even while the agent runs
   * SCHED_FIFO between the steps of a burst (its children would inherit it and spend the budget).
   */
  private atDefaultPolicy(argv: readonly string[]): readonly string[] {
    return this.fifo ? ['chrt', '-o', '0', ...argv] : argv;
  }

  /**
   * A step is armed (it switches within ARM_AHEAD_MS), or is armed within QUIET_BEFORE_ARM_MS: a
   * process started at the default policy now might still hold the agent when the step is due.
   */
  private stepNear(): boolean {
    const now = this.host.now();
    return this.pending.some((p) => p.dueMs !== undefined && p.dueMs - ARM_AHEAD_MS - QUIET_BEFORE_ARM_MS <= now);
  }

  /**
   * Resolves at once when no step is armed (or about to be), else right after the next switch (the
   * moment furthest from the step after it), or after STATUS_WAIT_MS: a read starts processes, and
   * starting one holds the agent until the child has exec'd, which would make the armed step late.
   */
  private outsideArmedWindow(): Promise<void> {
    if (!this.stepNear() && !this.transitioning) return Promise.resolve();
    return new Promise((resolve) => {
      const waiting = this.afterSwitch;
      const cancel = this.host.at(this.host.now() + STATUS_WAIT_MS, () => {
        // waited long enough: no longer one of those a switch lets go
        const i = waiting.indexOf(done);
        if (i >= 0) waiting.splice(i, 1);
        resolve();
      });
      function done(): void {
        cancel();
        resolve();
      }
      waiting.push(done);
    });
  }

  /** Lets the reads that waited for a switch go. */
  private releaseReads(): void {
    for (const go of this.afterSwitch.splice(0)) go();
  }

  private stepDueWithin(ms: number): boolean {
    const limit = this.host.now() + ms;
    return this.pending.some((p) => p.dueMs !== undefined && p.dueMs <= limit);
  }

  /**
   * SCHED_FIFO on or off (when the sidecar may have it), through acklab-sched: no process is started
   * for it. What the agent and the processes it starts do meanwhile is paid from the sidecar's
   * real-time budget, so it does little: the timer, the step's restore and its generation, the event.
   */
  private async setFifo(on: boolean): Promise<void> {
    if (!this.realtime || on === this.fifo) return;
    this.fifo = on;
    await this.host.setPriority(on ? SWITCH_PRIORITY : null);
  }

  /** Asks acklab-sched to raise the agent just before the step's arming. */
  private promote(p: Pending): void {
    if (this.realtime) void this.host.promoteAt(p.dueMs! - ARM_AHEAD_MS - PROMOTE_AHEAD_MS, SWITCH_PRIORITY);
  }

  private arm(p: Pending): void {
    const due = p.dueMs!;
    this.promote(p);
    p.cancelArm = this.host.at(due - ARM_AHEAD_MS, () => {
      void (async () => {
        // Real-time first: the step's processes, started next, inherit it. A child at the default
        // policy may wait long for a CPU on a loaded machine, and starting a process holds the
        // agent until the child has exec'd.
        await this.setFifo(true);
        if (!this.pending.includes(p)) return;
        p.armed = this.host.arm(IPTABLES_RESTORE);
        await this.serial(() => this.prepare(p)).catch(() => undefined);
      })();
    });
    p.cancel = this.host.at(due, () => {
      const firedAtMs = this.host.now();
      this.pending = this.pending.filter((x) => x !== p);
      void this.serial(() => this.transition(applyOps(this.state, p.ops, this.self()), { stepId: p.id, dueMs: due, firedAtMs }, p));
    });
  }

  private armExpiry(): void {
    this.expiry?.();
    this.expiry = undefined;
    const { nextMs } = expire(this.state, this.host.now());
    if (nextMs === undefined) return;
    this.expiry = this.host.at(nextMs, () => {
      void this.serial(async () => {
        const { state, lapsed } = expire(this.state, this.host.now());
        if (lapsed) await this.transition(state);
        else this.armExpiry();
      });
    });
  }

  // ---- stages: classes and helpers ----

  private async ensureStages(needed: Map<string, Stage>): Promise<void> {
    for (const [key, stage] of needed) {
      if (this.stages.has(key)) continue;
      const setup = stageSetup(stage, this.devices, this.backend(), this.self(), this.seed);
      if (setup.tc.length > 0) for (const dev of this.devices) await this.ensureRoot(dev);
      for (const argv of setup.tc) await this.must(argv);
      if (setup.helper) await this.startHelper(stage, setup.helper);
      this.stages.set(key, stage);
    }
  }

  private async ensureRoot(dev: string): Promise<void> {
    if (this.rootOn.has(dev)) return;
    for (const argv of tcRoot(dev)) await this.must(argv);
    this.rootOn.add(dev);
  }

  /** Stages neither the current state nor a pending step uses any more. */
  private async dropUnneeded(): Promise<void> {
    const keep = allocateStages([this.state, ...this.pendingStates()], this.stages, this.backend());
    for (const [key, stage] of [...this.stages]) {
      if (keep.has(key)) continue;
      this.stages.delete(key);
      await this.stopHelper(key);
      for (const argv of stageTeardown(stage, this.devices)) await this.host.run(argv);
    }
    if (![...this.stages.values()].some((s) => s.classMinor !== undefined)) {
      for (const dev of this.rootOn) for (const argv of tcTeardown(dev)) await this.host.run(argv);
      this.rootOn.clear();
    }
  }

  /** Keys of helpers whose process still runs. */
  private readonly alive = new Set<string>();

  private async startHelper(stage: Stage, argv: string[]): Promise<void> {
    const process = this.host.spawn(argv);
    const running: RunningHelper = { stage, process, stopping: false };
    this.helpers.set(stage.key, running);
    this.alive.add(stage.key);
    void process.exited.then(({ code, signal }) => {
      this.alive.delete(stage.key);
      if (!running.stopping) {
        this.report(`the helper for ${this.self()} -> ${stage.to} (queue ${stage.queue}) exited (${signal ?? `code ${code}`}): its traffic is being DROPPED`);
      }
    });
    // Only a bound queue may receive packets: wait for its pidfile and its listener.
    const deadline = this.host.now() + HELPER_BIND_MS;
    while (this.host.now() < deadline) {
      if (!this.alive.has(stage.key)) break;
      const [pid, proc] = await Promise.all([this.host.readFile(helperPidfile(stage.queue!)), this.host.readFile('/proc/net/netfilter/nfnetlink_queue')]);
      if (pid !== undefined && new RegExp(`^\\s*${stage.queue}\\s`, 'm').test(proc ?? '')) return;
      await this.host.sleep(20);
    }
    throw new Error(`the userspace helper for queue ${stage.queue} on node "${this.self()}" did not bind its queue within ${HELPER_BIND_MS / 1000} s`);
  }

  /** Retires a helper without waiting: SIGTERM releases what it holds at its time (≤ 2 s); SIGKILL after 3 s. */
  private async stopHelper(key: string): Promise<void> {
    const h = this.helpers.get(key);
    if (!h) return;
    h.stopping = true;
    this.helpers.delete(key);
    h.process.kill('SIGTERM');
    void Promise.race([h.process.exited.then(() => true), this.host.sleep(3000).then(() => false)]).then((ended) => {
      if (!ended) h.process.kill('SIGKILL');
    });
  }

  // ---- checking ----

  /** The acklab chains as the kernel prints them (counters dropped), and each device's classes. */
  private async kernelView(): Promise<{ rules: string; classes: Record<string, string> }> {
    const save = await this.host.run(IPTABLES_SAVE);
    const rules = effectiveSave(save.stdout)
      .map((l) => l.replace(/^\[\d+:\d+\] /, ''))
      .filter((l) => ACKLAB_CHAINS.some((c) => l.startsWith(`-A ${c} `) || l === `-A POSTROUTING -j ${c}` || l.endsWith(`-j ${c}`)))
      .join('\n');
    const classes: Record<string, string> = {};
    for (const dev of this.rootOn) {
      classes[dev] = (await this.host.run(tcClassShow(dev))).stdout
        .split('\n')
        .map((l) => /class htb (\S+)/.exec(l)?.[1])
        .filter(Boolean)
        .sort()
        .join(' ');
    }
    return { rules, classes };
  }

  private async takeSnapshot(): Promise<void> {
    this.snapshot = await this.kernelView();
  }

  private armCheck(): void {
    // Checks never queue behind (or hold up) a switch: one that overlapped a transition compares nothing.
    const tick = async () => {
      const expected = this.snapshot;
      const generation = this.generation;
      // not while a step is armed: starting the check's processes would hold the agent at the step's time
      if (expected && !this.transitioning && !this.fifo && !this.stepNear()) {
        const now = await this.kernelView().catch(() => undefined);
        if (now && expected === this.snapshot && generation === this.generation && !this.transitioning) {
          if (now.rules !== expected.rules) this.report(`the acklab rules on ${this.self()} were changed from outside: ${ruleDiff(expected.rules, now.rules)}`);
          for (const [dev, classes] of Object.entries(expected.classes)) {
            if (now.classes[dev] !== classes) this.report(`the tc classes on ${this.self()} ${dev} were changed from outside (expected ${classes || 'none'}, found ${now.classes[dev] || 'none'})`);
          }
        }
      }
      this.checker = this.host.at(this.host.now() + CHECK_EVERY_MS, () => void tick());
    };
    this.checker = this.host.at(this.host.now() + CHECK_EVERY_MS, () => void tick());
  }

  /** Records a problem once (same reason, same problem) and tells every watcher. */
  private report(reason: string): void {
    if (this.problems.some((p) => p.reason === reason)) return;
    const p = { atMs: this.host.now(), reason };
    this.problems.push(p);
    this.emit({ event: 'problem', ...p });
  }

  private async must(argv: readonly string[], stdin?: string): Promise<void> {
    const r = await this.host.run(argv, stdin);
    if (r.exitCode !== 0) throw new Error(`\`${argv.join(' ')}\` failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
  }
}


/** The first rule line that is missing or new, for the message. */
function ruleDiff(expected: string, now: string): string {
  const a = new Set(expected.split('\n'));
  const b = new Set(now.split('\n'));
  const missing = [...a].find((l) => l && !b.has(l));
  const added = [...b].find((l) => l && !a.has(l));
  return missing ? `missing "${missing}"` : added ? `unexpected "${added}"` : 'rules reordered';
}
