/**
 * Reading what is in force back from a node's kernel (never from memory): its acklab iptables
 * rules with their comments and counters, its qdiscs, and whether each userspace helper is bound
 * to its queue. Pure parsers live in state.ts; this file runs the read commands.
 */
import { sameCut, type Cut } from '../conditions/index.js';
import { commandError } from './executor.js';
import { helperStatsfile } from './helper.js';
import { IPTABLES_SAVE, NFQUEUE_PROC } from './iptables.js';
import type { BackendProbe } from './probe.js';
import type { NamespaceExecutor } from './sidecars.js';
import { type ImpairRecord, type RulesState, parseIptablesSave, parseLinkDevices, parseNfqueueProc } from './state.js';
import { tcShow } from './tc.js';

export interface HelperStatus {
  queue: number;
  /** A process is bound to the queue (from /proc/net/netfilter/nfnetlink_queue). */
  alive: boolean;
  kernelDropped: number;
  /** The helper's own counters (received, lost, …) from its stats file. */
  stats?: Record<string, number>;
}

export interface NodeConditions {
  node: string;
  /** Whether the node has a sidecar (no sidecar = nothing was ever applied). */
  sidecar: boolean;
  impairments: (ImpairRecord & { helper?: HelperStatus })[];
  cuts: RulesState['cuts'];
  /** `tc -s qdisc show` per device, as the kernel prints it. */
  qdiscs: Record<string, string>;
  problems: string[];
}

export interface LabConditions {
  lab: string;
  backend?: BackendProbe;
  nodes: NodeConditions[];
  /** Every cut in force, once (deduplicated across its two nodes). */
  cuts: Cut[];
  healthy: boolean;
}

export type NodeRules = RulesState & { devices: string[] };

export const LINK_SHOW: readonly string[] = ['ip', '-o', 'link', 'show'];

/** The node's acklab rules and its devices; with no sidecar, nothing is in force. */
export async function readRules(node: string, exec: NamespaceExecutor | undefined, noSidecarDevices: string[] = ['eth0']): Promise<NodeRules> {
  if (!exec) return { ...parseIptablesSave('', node), devices: noSidecarDevices };
  const [save, links] = await Promise.all([exec.run(IPTABLES_SAVE), exec.run(LINK_SHOW)]);
  if (save.exitCode !== 0) throw commandError(node, IPTABLES_SAVE, save);
  return { ...parseIptablesSave(save.stdout, node), devices: parseLinkDevices(links.stdout) };
}

/** Everything in force on one node, with a problem for every rule whose machinery is missing. */
export async function readNodeConditions(node: string, exec: NamespaceExecutor | undefined): Promise<NodeConditions> {
  const result: NodeConditions = { node, sidecar: exec !== undefined, impairments: [], cuts: [], qdiscs: {}, problems: [] };
  if (!exec) return result;
  const rules = await readRules(node, exec);
  const [queues, ...qdiscs] = await Promise.all([exec.run(NFQUEUE_PROC), ...rules.devices.map((dev) => exec.run(tcShow(dev)))]);
  rules.devices.forEach((dev, i) => (result.qdiscs[dev] = qdiscs[i]!.stdout.trim()));
  const listeners = parseNfqueueProc(queues!.stdout);
  result.cuts = rules.cuts;
  for (const r of rules.impairments) {
    const rec: NodeConditions['impairments'][number] = { ...r };
    if (r.queue !== undefined) {
      const listener = listeners.get(r.queue);
      const stats = await exec.run(['cat', helperStatsfile(r.queue)]);
      rec.helper = { queue: r.queue, alive: listener !== undefined, kernelDropped: listener ? listener.queueDropped + listener.userDropped : 0 };
      if (stats.exitCode === 0) rec.helper.stats = parseStats(stats.stdout);
      if (!listener) {
        result.problems.push(
          `the helper for ${node} -> ${r.to} (queue ${r.queue}) is not running: the kernel is DROPPING that traffic ` +
            `(NFQUEUE without --queue-bypass, by design); re-apply with \`acklab impair\` or remove with \`acklab heal\``,
        );
      }
    }
    if (r.impairment.rateBps !== undefined && !Object.values(result.qdiscs).some((q) => /qdisc htb 1: root/.test(q))) {
      result.problems.push(`${node} -> ${r.to} has a rate recorded but no htb tree is in force`);
    }
    result.impairments.push(rec);
  }
  return result;
}

/** The lab's conditions from its nodes'; the backend as the kernel shows it (queues: userspace, netem qdiscs: netem). */
export function labConditions(lab: string, nodes: NodeConditions[], probed?: BackendProbe): LabConditions {
  const cuts: Cut[] = [];
  for (const n of nodes) for (const c of n.cuts) if (!cuts.some((x) => sameCut(x, c))) cuts.push({ from: c.from, to: c.to, style: c.style });
  const out: LabConditions = { lab, nodes, cuts, healthy: nodes.every((n) => n.problems.length === 0) };
  if (nodes.some((n) => n.impairments.some((i) => i.queue !== undefined))) out.backend = { backend: 'userspace', reason: 'NFQUEUE rules in force' };
  else if (nodes.some((n) => Object.values(n.qdiscs).some((q) => / netem /.test(q)))) out.backend = { backend: 'netem', reason: 'netem qdiscs in force' };
  else if (probed) out.backend = probed;
  return out;
}

function parseStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [, k, v] of text.matchAll(/(\w+)=(\d+)/g)) out[k!] = Number(v);
  return out;
}
