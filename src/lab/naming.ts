/** Docker names and labels for a lab's resources, derived from one place (createLabels). */
import { LABEL_PREFIX, LABELS, createLabels, labelFilter } from '../common/index.js';

/** The node kind, for `ps` (not in src/common/labels.ts yet; asked of the coordinator). */
export const KIND_LABEL = `${LABEL_PREFIX}.kind`;
/** The topology network a Docker network implements. */
export const NETWORK_LABEL = `${LABEL_PREFIX}.network`;

export const containerName = (lab: string, node: string) => `acklab-${lab}-${node}`;
export const networkName = (lab: string, network: string) => `acklab-${lab}-${network}`;

export function nodeLabels(lab: string, runId: string, node: string, kind: string): Record<string, string> {
  return { ...createLabels({ role: 'node', lab, runId, node }), [KIND_LABEL]: kind };
}

export function networkLabels(lab: string, runId: string, network: string): Record<string, string> {
  return { ...createLabels({ role: 'network', lab, runId }), [NETWORK_LABEL]: network };
}

/** Everything of one lab (any run, any role: nodes, networks, D's sidecars). */
export const labSelector = (lab: string, runId?: string) => labelFilter(runId === undefined ? { lab } : { lab, runId });

/** Everything that belongs to some lab (for `down --all`). */
export const anyLabSelector = () => [...labelFilter({}), LABELS.lab];

export { LABELS };
