/**
 * Plays an experiment's network actions on a started lab through the lab's impairment controller:
 * conditions applied before the workload, timeline steps staged on every node's agent and switched
 * by the agents at their time, everything they report watched, and what is in force read back.
 */
import { egressConditions, partitionCuts, type NetworkAction } from '../conditions/index.js';
import { actionOps, type LabConditions, type LabEvent, type LabStep } from '../impair/index.js';
import type { StartedLab } from '../lab/index.js';

export interface NetworkPlayer {
  /** Creates every node's sidecar and agent, so nothing later waits for one. */
  prepare(): Promise<void>;
  /** Applies an action now (a condition's, before the workload). */
  apply(action: NetworkAction): Promise<void>;
  /** Stages the timeline's network steps on every agent (relative to a zero not yet known). */
  schedule(steps: readonly LabStep[]): Promise<void>;
  /** The timeline's zero: every agent arms its staged steps. */
  start(t0Ms: number): Promise<void>;
  /** Follows every agent: switches, problems, streams that end. */
  watch(listener: (e: LabEvent) => void): Promise<void>;
  /** A node's container was started again: a new sidecar takes over its conditions. */
  nodeRestarted(node: string, ref: { containerId: string; addresses: string[] }): Promise<void>;
  /** What is in force, from the kernel. */
  read(): Promise<LabConditions>;
  /** The backend in use, once anything was applied (null before). */
  backend(): Promise<string | null>;
  /** Closes the control streams. */
  close(): void;
}

export function networkPlayer(lab: StartedLab, options: { seed?: number } = {}): NetworkPlayer {
  const controller = lab.controller({ log: () => {}, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  const names = lab.nodes.map((n) => n.name);
  let used = false;
  return {
    async prepare() {
      used = true;
      await controller.prepare();
    },
    async apply(action) {
      used = true;
      // impair and partition through the controller's checks (the backend's limits, the lab's nodes)
      if (action.kind === 'impair') await controller.impair(egressConditions(action, names));
      else if (action.kind === 'partition') await controller.partition(partitionCuts(action.partition, action.style));
      else await controller.apply(actionOps(action, names), { createAgents: false });
    },
    async schedule(steps) {
      used = true;
      await controller.schedule(steps);
    },
    start: (t0Ms) => controller.start(t0Ms),
    watch: (listener) => controller.watch(listener),
    nodeRestarted: (node, ref) => controller.nodeRestarted(node, ref),
    read: () => controller.read(),
    async backend() {
      return used ? (await controller.backend()).backend : null;
    },
    close: () => controller.close(),
  };
}
