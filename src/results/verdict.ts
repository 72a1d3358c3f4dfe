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
import { clientAcksVerdict } from './pairs.js';
import { clientTarget, isMcastMember, nodeProgram } from './roles.js';

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

/** The nodes a program part involves: peer clients (acklab's or the seed's) and the servers they target, or the mcast members. */
function partNodes(manifest: RunManifest, part: 'peer' | 'mcast', only?: string): string[] {
  const out = new Set<string>();
  for (const n of manifest.nodes) {
    if (only !== undefined && n.name !== only) continue;
    const program = nodeProgram(n);
    if (part === 'mcast' && isMcastMember(program)) out.add(n.name);
    if (part === 'peer' && ['peer-client', 'peer-server', 'twisted-client', 'twisted-server'].includes(program)) {
      out.add(n.name);
      const target = program === 'peer-client' || program === 'twisted-client' ? clientTarget(n.command) : undefined;
      if (target) out.add(target);
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
  const ended = [
    ...(metrics.peer?.clients.filter((c) => c.status === 'killed').map((c) => c.node) ?? []),
    ...(metrics.mcast?.nodes.filter((n) => n.status === 'killed').map((n) => n.node) ?? []),
    ...crashed.filter((n) => killed.has(n)),
  ];
  checks.push(
    metrics.crashed && unexplained.length > 0
      ? { name: 'programs', verdict: 'fail', reason: metrics.problems.filter((p) => /crashed/.test(p)).join('; ') || `${unexplained.join(', ')} crashed` }
      : { name: 'programs', verdict: 'pass', reason: ended.length > 0 ? `${ended.join(', ')} ended by the run's own process faults` : 'no program crashed' },
  );
  if (metrics.mcast) {
    const m = metrics.mcast;
    checks.push(
      m.order.ok
        ? { name: 'total-order', verdict: 'pass', reason: m.order.complete ? `every member delivered the same ${m.order.delivered} messages in (timestamp, sender) order` : `the members agree on a common prefix of ${m.order.delivered} deliveries` }
        : { name: 'total-order', verdict: 'fail', reason: orderFailure(m.order.firstDivergence, m.order.problems) },
    );
    const faults = faultsTouching(manifest, partNodes(manifest, 'mcast'));
    const lostPeers = m.nodes.some((n) => n.status === 'incomplete');
    if (m.accounted) {
      const a = m.accounted;
      checks.push(
        a.ok
          ? { name: 'accounted', verdict: 'pass', reason: a.notes.length > 0 ? `every delivery was multicast, with its sender's timestamp; not delivered: ${a.notes.join('; ')}` : `every message ${a.sent === null ? 'delivered' : `of ${a.sent} multicast`} is accounted for, with its sender's timestamp` }
          : { name: 'accounted', verdict: 'fail', reason: a.problems.join('; ') },
      );
    }
    checks.push(
      m.undelivered === 0
        ? { name: 'mcast-delivery', verdict: 'pass', reason: `all ${m.delivered} deliveries made` }
        : faults.length > 0
          ? { name: 'mcast-delivery', verdict: 'pass', reason: `${m.undelivered} deliveries missing, accounted for by ${faults.join(', ')}` }
          : { name: 'mcast-delivery', verdict: 'fail', reason: `${m.undelivered} deliveries missing${lostPeers ? ' (members stopped incomplete)' : ''} and no fault of the run accounts for them` },
    );
  }
  if (metrics.peer) checks.push(acksCheck(manifest, metrics));
  return { verdict: worst(checks.map((c) => c.verdict)), checks };
}

/**
 * Every update acked, client by client: a shortfall passes when something accounts for it — a fault
 * of the run touching the pair, a lost connection, or (for pairs with the seed) its counting quirks
 * and its client closing at once when stopped (src/results/pairs.ts).
 */
function acksCheck(manifest: RunManifest, metrics: RunMetrics): CheckResult {
  const p = metrics.peer!;
  const pairs = metrics.pairs ?? [];
  const judged = p.clients.map((c) => {
    const pair = pairs.find((x) => x.client === c.node);
    return { client: c, ...clientAcksVerdict(c, pair, faultsTouching(manifest, partNodes(manifest, 'peer', c.node))) };
  });
  const failed = judged.filter((j) => j.verdict === 'fail');
  const several = p.clients.length > 1;
  const who = (j: (typeof judged)[number]) => (several ? `${j.client.node}: ` : '');
  if (failed.length > 0) {
    return {
      name: 'acks',
      verdict: 'fail',
      reason: failed.map((j) => `${who(j)}${j.missing} of ${j.client.updatesSent} updates never acked and no fault of the run accounts for them`).join('; '),
    };
  }
  const accounted = judged.filter((j) => j.accountedBy.length > 0);
  if (accounted.length === 0) return { name: 'acks', verdict: 'pass', reason: `every one of ${p.updatesSent} updates acked` };
  const what = (j: (typeof judged)[number]) =>
    j.missing > 0
      ? `${j.missing} of ${j.client.updatesSent} updates not acked`
      : j.missing < 0
        ? `${-j.missing} more ack${j.missing === -1 ? '' : 's'} counted than ${j.client.updatesSent} updates sent`
        : `as many acks counted as updates sent, by different counts`;
  const detail = accounted.map((j) => `${who(j)}${what(j)}, accounted for by ${j.accountedBy.join(', ')}`);
  return { name: 'acks', verdict: 'pass', reason: detail.join('; ') };
}

/**
 * The first divergence between members, and the first member that broke the (timestamp, sender) order
 * itself: the divergence compares against the first member, which may be the one that is wrong.
 */
function orderFailure(firstDivergence: string, problems: readonly string[]): string {
  const culprit = problems.find((p) => p !== firstDivergence && /is not after|delivered twice/.test(p));
  return culprit ? `${firstDivergence}; ${culprit}` : firstDivergence;
}

/** Nodes the run killed or stopped on purpose (process faults in its timeline). */
function processFaultNodes(manifest: RunManifest): string[] {
  return (manifest.timeline ?? []).flatMap((t) => {
    const a = t.step.action;
    return t.ok && a.kind === 'process' && (a.verb === 'kill' || a.verb === 'stop' || a.verb === 'restart') ? [a.node] : [];
  });
}
