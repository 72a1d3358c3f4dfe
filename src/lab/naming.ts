/** Docker names and labels for a lab's resources, derived from one place (createLabels). */
import { LABELS, createLabels, labelFilter } from '../common/index.js';

export const KIND_LABEL = LABELS.kind;
export const NETWORK_LABEL = LABELS.network;

export const containerName = (lab: string, node: string) => `acklab-${lab}-${node}`;
export const networkName = (lab: string, network: string) => `acklab-${lab}-${network}`;

export function nodeLabels(lab: string, runId: string, node: string, kind: string): Record<string, string> {
  return createLabels({ role: 'node', lab, runId, node, kind });
}

export function networkLabels(lab: string, runId: string, network: string): Record<string, string> {
  return createLabels({ role: 'network', lab, runId, network });
}

/** Everything of one lab (any run, any role: nodes, networks, sidecars). */
export const labSelector = (lab: string, runId?: string) => labelFilter(runId === undefined ? { lab } : { lab, runId });

/** Everything that belongs to some lab (for `down --all`). */
export const anyLabSelector = () => [...labelFilter({}), LABELS.lab];

export { LABELS };
