/** What is running, found by label alone (no state files): for ps, logs, exec and down. */
import type { ContainerInfo, Runtime } from '../runtime/index.js';
import { removeByLabels, type RemovedResources } from './cleanup.js';
import { decodeHolder, holderState, type Holder, type HolderState } from './holder.js';
import { leasesOf } from './lease.js';
import { KIND_LABEL, LABELS, anyLabSelector, labSelector, networkName, overlayNetworkName } from './naming.js';
import { labelFilter } from '../common/index.js';

export interface RunningNode {
  lab: string;
  runId: string;
  /** The lab's owner ("" for a lab made before owners were recorded). */
  owner: string;
  name: string;
  kind: string;
  containerId: string;
  state: string;
  exitCode: number;
  /** IPv4 per topology network. */
  addresses: Record<string, string>;
  /** The engine (its topology name) the node runs on, in a lab over several engines. */
  engine?: string;
}

/** Which labs a listing covers: one owner's (the default for ps and down), or everyone's. */
export interface OwnerScope {
  /** Only labs of this owner; undefined: every owner. */
  owner?: string;
}

export async function listNodes(runtime: Runtime, lab?: string, scope: OwnerScope = {}): Promise<RunningNode[]> {
  const containers = await runtime.containers.list(labelFilter({ role: 'node', ...(lab === undefined ? {} : { lab }), ...scope }));
  return containers
    .filter((c) => c.labels[LABELS.lab] !== undefined && c.labels[LABELS.node] !== undefined)
    .map(toRunningNode)
    .sort((a, b) => a.lab.localeCompare(b.lab) || a.name.localeCompare(b.name));
}

function toRunningNode(c: ContainerInfo): RunningNode {
  const lab = c.labels[LABELS.lab]!;
  const prefixes = [networkName(lab, ''), overlayNetworkName(lab, '')];
  const addresses: Record<string, string> = {};
  for (const [net, ip] of Object.entries(c.addresses)) {
    const prefix = prefixes.find((p) => net.startsWith(p));
    addresses[prefix ? net.slice(prefix.length) : net] = ip;
  }
  return {
    lab,
    runId: c.labels[LABELS.runId] ?? '',
    owner: c.labels[LABELS.owner] ?? '',
    name: c.labels[LABELS.node]!,
    kind: c.labels[KIND_LABEL] ?? '',
    containerId: c.id,
    state: c.state === 'exited' ? `exited (${c.exitCode})` : c.state,
    exitCode: c.exitCode,
    addresses,
    ...(c.labels[LABELS.engine] === undefined ? {} : { engine: c.labels[LABELS.engine] }),
  };
}

/** One lab as `ps` and `down` see it. */
export interface LabSummary {
  lab: string;
  owner: string;
  topology: string;
  runId: string;
  /** A finished `up`: the lab outlives the process that started it. */
  detached: boolean;
  holder: Holder | undefined;
  /** Whether the holding process still runs (as far as this host can tell). */
  held: HolderState;
  nodes: number;
  containers: number;
  networks: number;
}

/** Every lab in scope, with what it has (two list calls). */
export async function listLabs(runtime: Runtime, scope: OwnerScope = {}): Promise<LabSummary[]> {
  const filter = [...anyLabSelector(), ...(scope.owner === undefined ? [] : [`${LABELS.owner}=${scope.owner}`])];
  const [containers, networks] = await Promise.all([runtime.containers.list(filter), runtime.networks.list(filter)]);
  const leases = leasesOf(containers);
  const labs = new Map<string, LabSummary>();
  const summary = (labels: Record<string, string>): LabSummary => {
    const lab = labels[LABELS.lab]!;
    let s = labs.get(lab);
    if (!s) {
      const lease = leases.get(lab);
      const holder = lease?.holder ?? decodeHolder(labels[LABELS.holder]);
      s = {
        lab,
        owner: lease?.owner ?? labels[LABELS.owner] ?? '',
        topology: lease?.topology ?? labels[LABELS.topology] ?? lab,
        runId: lease?.runId ?? labels[LABELS.runId] ?? '',
        detached: lease?.detached ?? false,
        holder,
        held: holderState(holder),
        nodes: 0,
        containers: 0,
        networks: 0,
      };
      labs.set(lab, s);
    }
    return s;
  };
  for (const c of containers) {
    const s = summary(c.labels);
    s.containers++;
    if (c.labels[LABELS.role] === 'node') s.nodes++;
  }
  for (const n of networks) summary(n.labels).networks++;
  return [...labs.values()].sort((a, b) => a.lab.localeCompare(b.lab));
}

/** Removes one lab (every run, every role). */
export function removeLab(runtime: Runtime, lab: string): Promise<RemovedResources> {
  return removeByLabels(runtime, labSelector(lab));
}

/** Removes every lab of `scope` (one owner's, or everyone's). */
export function removeAllLabs(runtime: Runtime, scope: OwnerScope = {}): Promise<RemovedResources> {
  return removeByLabels(runtime, [...anyLabSelector(), ...(scope.owner === undefined ? [] : [`${LABELS.owner}=${scope.owner}`])]);
}
