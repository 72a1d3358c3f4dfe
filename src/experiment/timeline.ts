/**
 * A run's timeline as played: the steps (the condition's, and its nemeses expanded with the run's
 * seed), what each node reported when it switched, and the conditions that stopped holding.
 *
 *   network steps   staged on every node's agent before t0 and switched by the agents on time;
 *                   each agent reports its switch, which lands in the step's record per node
 *   process faults  run by acklab itself at their time, on the node's container
 *   losses          a problem an agent reports (a helper died, a rule was removed from outside) or
 *                   an agent's stream that ends when nobody meant it to: the run becomes `invalid`
 */
import { createRng, deriveSeed, errorMessage } from '../common/index.js';
import { expandNemesis, type ProcessAction } from '../conditions/index.js';
import { stepOps, type LabEvent, type LabStep } from '../impair/index.js';
import { runNodeAction, type StartedLab } from '../lab/index.js';
import type { Condition, ConditionLoss, NodeSwitch, TimelineRecord, TimelineStep } from '../results/index.js';
import type { ContainerClient } from '../runtime/index.js';

/** How long `stop` waits for a node's programs to exit on SIGTERM before SIGKILL. */
export const PROCESS_STOP_GRACE_MS = 5_000;

/** The steps a run plays: the condition's timeline and its nemeses, expanded with the run's seed, in time order. */
export function playedSteps(condition: Condition, nodes: readonly string[], runSeed: number, durationMs: number): TimelineStep[] {
  const steps = [...condition.timeline];
  (condition.nemesis ?? []).forEach((spec, i) => steps.push(...expandNemesis(spec, i, nodes, createRng(deriveSeed(runSeed, 'nemesis', i)), durationMs)));
  // stable: steps due together keep the order they were written in
  return steps.map((s, i) => [s, i] as const).sort((a, b) => a[0].atMs - b[0].atMs || a[1] - b[1]).map(([s]) => s);
}

export const stepId = (index: number) => `s${index}`;

/** The timeline's network steps as each node's ops (steps that touch no node's conditions are left out). */
export function labSteps(records: readonly TimelineRecord[], nodes: readonly string[]): LabStep[] {
  return records.flatMap((r, i) => {
    const ops = stepOps(r.step.action, nodes);
    return ops.size > 0 ? [{ id: stepId(i), atMs: r.atMs, ops }] : [];
  });
}

/** Keeps a run's timeline records and condition losses up to date from what the agents report. */
export class TimelineLog {
  readonly losses: ConditionLoss[] = [];
  /** Nodes whose agent's stream is expected to end (collection and teardown). */
  private closing = false;
  private readonly expected = new Map<number, Set<string>>();

  constructor(
    private readonly records: TimelineRecord[],
    steps: readonly LabStep[],
    private readonly t0: () => number | null,
    /** Called once per step when every node it touches has switched (or the process fault is done). */
    private readonly onSettled: (record: TimelineRecord, index: number) => void = () => {},
  ) {
    for (const s of steps) this.expected.set(Number(s.id.slice(1)), new Set(s.ops.keys()));
  }

  /** From now on an agent's stream that ends is the lab going down, not a lost condition. */
  stopWatching(): void {
    this.closing = true;
  }

  on(e: LabEvent): void {
    const t0 = this.t0() ?? Date.now();
    if (e.event === 'switched' && e.stepId !== undefined) {
      const record = this.records[Number(e.stepId.slice(1))];
      if (!record) return;
      const sw: NodeSwitch = { firedAtMs: e.firedAtMs - t0, switchedAtMs: e.switchedAtMs - t0, ok: e.ok };
      if (e.error) sw.error = e.error;
      (record.nodes ??= {})[e.node] = sw;
      this.settle(record, Number(e.stepId.slice(1)));
    } else if (e.event === 'problem') {
      if (!this.closing) this.losses.push({ atMs: e.atMs - t0, reason: `${e.node}: ${e.reason}` });
    } else if (e.event === 'closed') {
      if (!this.closing) this.losses.push({ atMs: e.atMs - t0, reason: `${e.node}: the shaper sidecar's agent went away (${e.reason}); the node's conditions are no longer watched` });
    }
  }

  /** A process fault as played on one node. */
  processDone(index: number, node: string, firedAtMs: number, switchedAtMs: number, error?: string): void {
    const record = this.records[index]!;
    const t0 = this.t0() ?? firedAtMs;
    record.nodes = { [node]: { firedAtMs: firedAtMs - t0, switchedAtMs: switchedAtMs - t0, ok: error === undefined, ...(error ? { error } : {}) } };
    record.startedAtMs = firedAtMs - t0;
    record.appliedAtMs = error === undefined ? switchedAtMs - t0 : null;
    record.spreadMs = 0;
    record.ok = error === undefined;
    if (error) record.error = error;
    this.onSettled(record, index);
  }

  /** Steps whose nodes did not all report: why, once the run is over. */
  finish(endedAtMs: number): void {
    const t0 = this.t0();
    this.records.forEach((r, i) => {
      const expected = this.expected.get(i);
      if (!expected || r.ok || r.error) return;
      const missing = [...expected].filter((n) => !r.nodes?.[n]);
      if (t0 !== null && t0 + r.atMs > endedAtMs) r.error = 'not played: the run ended before its time';
      else if (missing.length > 0) r.error = `no switch reported by ${missing.join(', ')}`;
    });
  }

  private settle(record: TimelineRecord, index: number): void {
    const expected = this.expected.get(index);
    const nodes = record.nodes ?? {};
    if (!expected || [...expected].some((n) => !nodes[n])) return;
    const switches = [...expected].map((n) => nodes[n]!);
    record.startedAtMs = Math.min(...switches.map((s) => s.firedAtMs));
    record.appliedAtMs = Math.max(...switches.map((s) => s.switchedAtMs));
    record.spreadMs = record.appliedAtMs - Math.min(...switches.map((s) => s.switchedAtMs));
    const failed = Object.entries(nodes).filter(([, s]) => !s.ok);
    record.ok = failed.length === 0;
    if (failed.length > 0) record.error = failed.map(([n, s]) => `${n}: ${s.error ?? 'failed'}`).join('; ');
    this.onSettled(record, index);
  }
}

export interface ProcessFaultDone {
  firedAtMs: number;
  /** When the container was in its new state (for start/restart: running again). */
  doneAtMs: number;
  error?: string;
}

/**
 * Runs a process fault on a node's container; `done` hears when the container is in its new state.
 * For start/restart the node's conditions are then handed to a new sidecar (its new namespace);
 * the promise resolves once that is over too, with why it failed if it did.
 */
export async function runProcessFault(
  containers: ContainerClient,
  lab: StartedLab,
  action: ProcessAction,
  nodeRestarted: (node: string, ref: { containerId: string; addresses: string[] }) => Promise<void>,
  done: (d: ProcessFaultDone) => void = () => {},
): Promise<ProcessFaultDone & { handoverError?: string }> {
  const firedAtMs = Date.now();
  const node = lab.node(action.node);
  const id = node.containerId;
  let result: ProcessFaultDone;
  let started = false;
  try {
    // the same action as `acklab kill|stop|… LAB NODE` and StartedLab's, with the run's stop grace
    ({ started } = await runNodeAction(containers, { lab: lab.name, node: action.node, containerId: id }, action.verb, { graceMs: PROCESS_STOP_GRACE_MS }));
    result = { firedAtMs, doneAtMs: Date.now() };
  } catch (err) {
    result = { firedAtMs, doneAtMs: Date.now(), error: errorMessage(err) };
  }
  done(result);
  if (result.error || !started) return result;
  try {
    // The engine may give it another address; the lab and every agent learn the new one.
    const info = await containers.inspect(id);
    for (const net of lab.networks) {
      const ip = info.addresses[net.dockerName];
      if (ip !== undefined && node.spec.networks.includes(net.name)) node.addresses[net.name] = ip;
    }
    await nodeRestarted(action.node, { containerId: id, addresses: Object.values(node.addresses) });
    return result;
  } catch (err) {
    return { ...result, handoverError: errorMessage(err) };
  }
}
