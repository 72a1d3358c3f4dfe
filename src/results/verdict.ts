/**
 * Verdicts: what a run's results say, check by check, in three words a CI job can gate on.
 *
 *   pass     the check holds (a shortfall is fine when a fault of the run accounts for it, and the
 *            reason says which)
 *   fail     the programs got it wrong: the total order broke, a program crashed, acks or
 *            deliveries went missing with no fault of the run to account for them
 *   invalid  the run cannot be judged: it did not finish (set-up failure, Ctrl-C), or a condition it
 *            was supposed to run under was lost (a helper died, a rule was removed)
 *
 * A run's verdict is its worst check (invalid > fail > pass); a sweep's is its worst run.
 * `acklab run` exits 1 unless the sweep passes; `--junit` writes one test case per run and check.
 */
import { nodesOf, type Action } from '../conditions/index.js';
import type { CheckResult, RunManifest, RunMetrics, RunVerdict, Verdict } from './format.js';

export type { CheckResult, RunVerdict, Verdict };

const RANK: Record<Verdict, number> = { pass: 0, fail: 1, invalid: 2 };

/** The worst of several verdicts (invalid > fail > pass); pass for none. */
export function worst(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((w, v) => (RANK[v] > RANK[w] ? v : w), 'pass');
}

/** The faults of a run that touch `nodes`: conditions applied at the start and timeline steps that were played. */
function faultsTouching(manifest: RunManifest, nodes: readonly string[]): string[] {
  // Heals, starts and resumes are recoveries, not faults.
  const isFault = (a: Action) => a.kind !== 'heal' && !(a.kind === 'process' && (a.verb === 'start' || a.verb === 'resume')) && !(a.kind === 'nemesis' && a.cuts.length === 0);
  const touches = (a: Action) => {
    const named = nodesOf(a);
    // an action on "*" (every node's egress) names no node: it touches all of them
    return named.length === 0 || named.some((n) => nodes.includes(n));
  };
  const atStart = manifest.condition.actions.filter((a) => isFault(a) && touches(a)).map(() => `the condition "${manifest.condition.name}"`);
  const played = (manifest.timeline ?? []).filter((t) => t.ok && isFault(t.step.action) && touches(t.step.action)).map((t) => `"${t.text}"`);
  return [...new Set([...atStart, ...played])];
}

/** The nodes a program part involves: peer clients and the servers they target, or the mcast members. */
function partNodes(manifest: RunManifest, part: 'peer' | 'mcast'): string[] {
  const out = new Set<string>();
  for (const n of manifest.nodes) {
    const bin = n.command.find((w) => /acklab-(peer|mcast)$/.test(w));
    if (part === 'mcast' && bin?.endsWith('acklab-mcast')) out.add(n.name);
    if (part === 'peer' && bin?.endsWith('acklab-peer')) {
      out.add(n.name);
      const target = n.command[n.command.indexOf(bin) + 2];
      if (n.command[n.command.indexOf(bin) + 1] === 'client' && target) out.add(target.split(':')[0]!);
    }
  }
  return [...out];
}

export function runVerdict(manifest: RunManifest, metrics: RunMetrics): RunVerdict {
  const checks: CheckResult[] = [];
  checks.push(
    manifest.status === 'ok' || manifest.status === 'invalid'
      ? { name: 'run', verdict: 'pass', reason: 'the run set up, played its timeline and was collected' }
      : { name: 'run', verdict: 'invalid', reason: `the run ${manifest.status}${manifest.error ? `: ${manifest.error}` : ''}` },
  );
  const lost = manifest.invalid ?? [];
  checks.push(
    lost.length === 0
      ? { name: 'conditions', verdict: 'pass', reason: 'every condition stayed in force as played' }
      : { name: 'conditions', verdict: 'invalid', reason: lost.map((l) => `at +${(l.atMs / 1000).toFixed(2)}s ${l.reason}`).join('; ') },
  );
  const crashed = [
    ...(metrics.peer?.clients.filter((c) => c.status === 'crashed').map((c) => c.node) ?? []),
    ...(metrics.mcast?.nodes.filter((n) => n.status === 'crashed').map((n) => n.node) ?? []),
  ];
  const killed = new Set(processFaultNodes(manifest));
  const unexplained = crashed.filter((n) => !killed.has(n));
  checks.push(
    metrics.crashed && unexplained.length > 0
      ? { name: 'programs', verdict: 'fail', reason: metrics.problems.filter((p) => /crashed/.test(p)).join('; ') || `${unexplained.join(', ')} crashed` }
      : { name: 'programs', verdict: 'pass', reason: crashed.length > 0 ? `${crashed.join(', ')} ended by the run's own process faults` : 'no program crashed' },
  );
  if (metrics.mcast) {
    const m = metrics.mcast;
    checks.push(
      m.order.ok
        ? { name: 'total-order', verdict: 'pass', reason: m.order.complete ? `every member delivered the same ${m.order.delivered} messages in (timestamp, sender) order` : `the members agree on a common prefix of ${m.order.delivered} deliveries` }
        : { name: 'total-order', verdict: 'fail', reason: m.order.firstDivergence },
    );
    const faults = faultsTouching(manifest, partNodes(manifest, 'mcast'));
    const lostPeers = m.nodes.some((n) => n.status === 'incomplete');
    checks.push(
      m.undelivered === 0
        ? { name: 'mcast-delivery', verdict: 'pass', reason: `all ${m.delivered} deliveries made` }
        : faults.length > 0
          ? { name: 'mcast-delivery', verdict: 'pass', reason: `${m.undelivered} deliveries missing, accounted for by ${faults.join(', ')}` }
          : { name: 'mcast-delivery', verdict: 'fail', reason: `${m.undelivered} deliveries missing${lostPeers ? ' (members stopped incomplete)' : ''} and no fault of the run accounts for them` },
    );
  }
  if (metrics.peer) {
    const p = metrics.peer;
    const missing = p.updatesSent - p.acksReceived;
    const faults = faultsTouching(manifest, partNodes(manifest, 'peer'));
    const lossReason = p.clients.flatMap((c) => (c.reason && /lost|could not connect/.test(c.reason) ? [`${c.node}: ${c.reason}`] : []));
    checks.push(
      missing <= 0
        ? { name: 'acks', verdict: 'pass', reason: `every one of ${p.updatesSent} updates acked` }
        : faults.length > 0 || lossReason.length > 0
          ? { name: 'acks', verdict: 'pass', reason: `${missing} of ${p.updatesSent} updates not acked, accounted for by ${[...faults, ...lossReason].join(', ')}` }
          : { name: 'acks', verdict: 'fail', reason: `${missing} of ${p.updatesSent} updates never acked and no fault of the run accounts for them` },
    );
  }
  return { verdict: worst(checks.map((c) => c.verdict)), checks };
}

/** Nodes the run killed or stopped on purpose (process faults in its timeline). */
function processFaultNodes(manifest: RunManifest): string[] {
  return (manifest.timeline ?? []).flatMap((t) => {
    const a = t.step.action as { kind: string; node?: string };
    return t.ok && (a.kind === 'kill' || a.kind === 'stop') && a.node ? [a.node] : [];
  });
}
