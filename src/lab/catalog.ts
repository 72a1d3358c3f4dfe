/** What is running, found by label alone (no state files): for ps, logs, exec and down. */
import { AcklabError } from '../common/index.js';
import type { ContainerInfo, Runtime } from '../runtime/index.js';
import { removeByLabels, type RemovedResources } from './cleanup.js';
import { KIND_LABEL, LABELS, anyLabSelector, labSelector, networkName } from './naming.js';
import { labelFilter } from '../common/index.js';

export interface RunningNode {
  lab: string;
  runId: string;
  name: string;
  kind: string;
  containerId: string;
  state: string;
  exitCode: number;
  /** IPv4 per topology network. */
  addresses: Record<string, string>;
}

export async function listNodes(runtime: Runtime, lab?: string): Promise<RunningNode[]> {
  const containers = await runtime.containers.list(labelFilter({ role: 'node', ...(lab === undefined ? {} : { lab }) }));
  return containers
    .filter((c) => c.labels[LABELS.lab] !== undefined && c.labels[LABELS.node] !== undefined)
    .map(toRunningNode)
    .sort((a, b) => a.lab.localeCompare(b.lab) || a.name.localeCompare(b.name));
}

function toRunningNode(c: ContainerInfo): RunningNode {
  const lab = c.labels[LABELS.lab]!;
  const prefix = networkName(lab, '');
  const addresses: Record<string, string> = {};
  for (const [net, ip] of Object.entries(c.addresses)) addresses[net.startsWith(prefix) ? net.slice(prefix.length) : net] = ip;
  return {
    lab,
    runId: c.labels[LABELS.runId] ?? '',
    name: c.labels[LABELS.node]!,
    kind: c.labels[KIND_LABEL] ?? '',
    containerId: c.id,
    state: c.state === 'exited' ? `exited (${c.exitCode})` : c.state,
    exitCode: c.exitCode,
    addresses,
  };
}

/** The node named `node`; with several labs running, `lab` must say which. */
export async function findNode(runtime: Runtime, node: string, lab?: string): Promise<RunningNode> {
  const nodes = await listNodes(runtime, lab);
  const matches = nodes.filter((n) => n.name === node);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) {
    throw new AcklabError(`node "${node}" exists in several labs (${matches.map((m) => m.lab).join(', ')}); say which with --lab NAME`, 2);
  }
  const labs = [...new Set(nodes.map((n) => n.lab))];
  if (nodes.length === 0) throw new AcklabError(lab === undefined ? 'no lab is running; start one with `acklab up FILE`' : `no lab named "${lab}" is running`, 2);
  throw new AcklabError(
    `no node "${node}"${lab === undefined ? '' : ` in lab "${lab}"`}; running nodes: ${nodes.map((n) => (labs.length > 1 ? `${n.lab}/${n.name}` : n.name)).join(', ')}`,
    2,
  );
}

/** Removes one lab (every run, every role), or every lab with `all`. */
export function removeLab(runtime: Runtime, lab: string): Promise<RemovedResources> {
  return removeByLabels(runtime, labSelector(lab));
}

export function removeAllLabs(runtime: Runtime): Promise<RemovedResources> {
  return removeByLabels(runtime, anyLabSelector());
}
