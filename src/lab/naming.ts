/**
 * Docker names and labels for a lab's resources, derived from one place (createLabels).
 *
 * Names: the lease is `acklab-<lab>`; nodes are `acklab-<lab>.<node>`, networks
 * `acklab-<lab>.<network>`. Lab and node names are DNS labels (no "."), so the "." keeps two labs
 * apart whatever their names ("a-b" + "c" never meets "a" + "b-c").
 */
import { LABELS, createLabels, labelFilter } from '../common/index.js';

export const KIND_LABEL = LABELS.kind;
export const NETWORK_LABEL = LABELS.network;

export const containerName = (lab: string, node: string) => `acklab-${lab}.${node}`;
export const networkName = (lab: string, network: string) => `acklab-${lab}.${network}`;
/** The lab's lease: the name that only one run of the lab can hold at a time. */
export const leaseName = (lab: string) => `acklab-${lab}`;
/** The mark of a lab that outlives the process that started it (a finished `up`). */
export const detachedName = (lab: string) => `acklab-${lab}_detached`;

/** What every resource of one run of a lab carries: which lab instance and run, whose, held by which process. */
export interface RunLabels {
  lab: string;
  runId: string;
  owner: string;
  /** encodeHolder() of the process that started the run. */
  holder: string;
  /** The topology's own name (the lab name is the instance's). */
  topology: string;
}

export function nodeLabels(run: RunLabels, node: string, kind: string): Record<string, string> {
  return createLabels({ role: 'node', ...run, node, kind });
}

export function networkLabels(run: RunLabels, network: string): Record<string, string> {
  return createLabels({ role: 'network', ...run, network });
}

export function leaseLabels(run: RunLabels, detached = false): Record<string, string> {
  return createLabels({ role: 'lease', ...run, detached });
}

/** Everything of one lab (any run, any role: nodes, networks, sidecars, lease). */
export const labSelector = (lab: string, runId?: string) => labelFilter(runId === undefined ? { lab } : { lab, runId });

/** Everything that belongs to some lab (for `down --all`). */
export const anyLabSelector = () => [...labelFilter({}), LABELS.lab];

export { LABELS };
