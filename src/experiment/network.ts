/**
 * Plays an experiment's network actions on a started lab through the impairment layer
 * (src/impair ImpairController over one shaper sidecar per node), and reads back from the kernel
 * what is in force after each step.
 */
import { ImpairController, labHandleFromRefs, partitionCuts, ALL_PEERS, type Cut, type EgressCondition, type LabConditions } from '../impair/index.js';
import type { StartedLab } from '../lab/index.js';
import { Sidecars } from '../runtime/sidecar.js';
import { ALL_NODES, type NetworkAction } from './actions.js';

export interface NetworkPlayer {
  apply(action: NetworkAction): Promise<void>;
  /** What is in force, from the kernel. */
  read(): Promise<LabConditions>;
  /** The backend in use, once anything was applied (null before). */
  backend(): Promise<string | null>;
  /** Creates every node's sidecar and probes the backend, so timeline steps apply without that delay. */
  prepare(): Promise<void>;
}

/** Action → the controller's egress conditions ("*" expands to every node of the lab). */
export function egressConditions(action: NetworkAction & { kind: 'impair' }, nodes: readonly string[]): EgressCondition[] {
  const from = action.link.from === ALL_NODES ? nodes : [action.link.from];
  return from
    .filter((node) => node !== action.link.to)
    .map((node) => ({ node, to: action.link.to === undefined || action.link.to === ALL_NODES ? ALL_PEERS : action.link.to, impairment: action.impairment }));
}

export function cutsOf(action: NetworkAction & { kind: 'partition' }): Cut[] {
  const p = action.partition;
  return p.kind === 'groups' ? partitionCuts(p.groups) : [{ from: p.from, to: p.to, style: 'drop' }];
}

export function networkPlayer(lab: StartedLab, shaperImage: string, options: { seed?: number; log?: (line: string) => void } = {}): NetworkPlayer {
  const sidecars = new Sidecars({ lab: lab.name, shaperImage: async () => shaperImage });
  const refs = lab.nodes.map((n) => ({ name: n.name, containerId: n.containerId, addresses: Object.values(n.addresses), runId: lab.runId }));
  const controller = new ImpairController(labHandleFromRefs(lab.name, refs, sidecars), {
    log: options.log ?? (() => {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  const names = lab.nodes.map((n) => n.name);
  let used = false;
  return {
    async apply(action) {
      used = true;
      switch (action.kind) {
        case 'impair':
          return controller.impair(egressConditions(action, names));
        case 'partition':
          return controller.partition(cutsOf(action));
        case 'heal':
          return controller.heal(action.node);
      }
    },
    read: () => controller.read(),
    async prepare() {
      used = true;
      await Promise.all(refs.map((ref) => sidecars.executor(ref, true)));
      await controller.backend();
    },
    async backend() {
      return used ? (await controller.backend()).backend : null;
    },
  };
}
