/**
 * What is in force on a node, read back from its kernel (never from memory): its acklab iptables
 * rules with their comments and counters, its qdiscs, and whether each userspace helper is bound
 * to its queue — as the node's agent captured them (`status`) — plus the problems the agent saw.
 */
import { sameCut, type Cut } from '../conditions/index.js';
import type { AgentStatus } from './agent/protocol.js';
import type { BackendProbe } from './probe.js';
import { type ImpairRecord, type RulesState, parseIptablesSave, parseNfqueueProc } from './state.js';

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

/** One node's conditions from its agent's status: the kernel's rules, queues and qdiscs, and the agent's problems. */
export function nodeConditionsFromStatus(node: string, status: AgentStatus): NodeConditions {
  const rules = parseIptablesSave(status.kernel.iptablesSave, node);
  const listeners = parseNfqueueProc(status.kernel.nfqueue);
  const problems = status.problems.map((p) => p.reason);
  const impairments = rules.impairments.map((r) => {
    const rec: NodeConditions['impairments'][number] = { ...r };
    if (r.queue !== undefined) {
      const listener = listeners.get(r.queue);
      const helper = status.helpers.find((h) => h.queue === r.queue);
      rec.helper = { queue: r.queue, alive: listener !== undefined, kernelDropped: listener ? listener.queueDropped + listener.userDropped : 0 };
      if (helper?.stats) rec.helper.stats = helper.stats;
      if (!listener && !problems.some((p) => p.includes(`queue ${r.queue}`))) {
        problems.push(
          `the helper for ${node} -> ${r.to} (queue ${r.queue}) is not running: the kernel is DROPPING that traffic ` +
            `(NFQUEUE without --queue-bypass, by design); re-apply with \`acklab impair\` or remove with \`acklab heal\``,
        );
      }
    }
    if (r.impairment.rateBps !== undefined && !Object.values(status.kernel.qdiscs).some((q) => /qdisc htb 1: root/.test(q))) {
      problems.push(`${node} -> ${r.to} has a rate recorded but no htb tree is in force`);
    }
    return rec;
  });
  return { node, sidecar: true, impairments, cuts: rules.cuts, qdiscs: status.kernel.qdiscs, problems };
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
