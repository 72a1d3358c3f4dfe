/**
 * Plays an experiment's network actions on a started lab through the lab's impairment controller,
 * and reads back from the kernel what is in force after each step.
 */
import { egressConditions, partitionCuts, type NetworkAction } from '../conditions/index.js';
import type { LabConditions } from '../impair/index.js';
import type { StartedLab } from '../lab/index.js';

export interface NetworkPlayer {
  apply(action: NetworkAction): Promise<void>;
  /** What is in force, from the kernel. */
  read(): Promise<LabConditions>;
  /** The backend in use, once anything was applied (null before). */
  backend(): Promise<string | null>;
  /** Creates every node's sidecar and probes the backend, so timeline steps apply without that delay. */
  prepare(): Promise<void>;
}

export function networkPlayer(lab: StartedLab, options: { seed?: number } = {}): NetworkPlayer {
  const controller = lab.controller({ log: () => {}, ...(options.seed !== undefined ? { seed: options.seed } : {}) });
  const names = lab.nodes.map((n) => n.name);
  let used = false;
  return {
    async apply(action) {
      used = true;
      switch (action.kind) {
        case 'impair':
          return controller.impair(egressConditions(action, names));
        case 'partition':
          return controller.partition(partitionCuts(action.partition, action.style));
        case 'heal':
          return controller.heal(action.node);
      }
    },
    read: () => controller.read(),
    async prepare() {
      used = true;
      await controller.prepare();
    },
    async backend() {
      return used ? (await controller.backend()).backend : null;
    },
  };
}
