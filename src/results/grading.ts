/**
 * Grading multicast members — acklab's own and anyone's implementation of the contract in
 * lab/examples/README.md — beyond the total order (src/programs/mcast/check-order.ts):
 *
 *   status      an implementation writes no summary; its exit says how it ended (0 complete, non-zero
 *               incomplete; killed by a signal other than SIGTERM: crashed)
 *   accounted   every message accounted for: nothing delivered that nobody sent, every delivery
 *               carries the timestamp its sender stamped, and a member that exited 0 (complete)
 *               delivered everything that was multicast
 */
import type { DeliveredRecord } from '../programs/mcast/delivered.js';
import type { AccountedCheck, NodeStatus } from './format.js';
import { memberInfo } from './roles.js';

/** A member as the checks need it. */
export interface MemberNode {
  name: string;
  command: readonly string[];
  env?: Record<string, string>;
  exitCode: number | null;
  events: readonly { event: string; [field: string]: unknown }[];
  delivered: readonly DeliveredRecord[];
}

/** SIGTERM is how acklab stops a member at the end of a run: exiting by it is an ordinary stop. */
const SIGTERM_EXIT = 128 + 15;

/** How an implementation ended, from its exit status alone (the contract's exit codes). */
export function implStatus(exitCode: number | null): NodeStatus {
  if (exitCode === null) return 'running';
  if (exitCode === 0) return 'completed';
  return exitCode > 128 && exitCode !== SIGTERM_EXIT ? 'crashed' : 'incomplete';
}

const fmt = (r: { lamport: number; sender: number; seq: number }) => `(lamport=${r.lamport}, sender=${r.sender}, seq=${r.seq})`;
const MAX_PROBLEMS = 10;

export function accountedCheck(members: readonly MemberNode[]): AccountedCheck {
  const info = new Map(members.map((m) => [m.name, memberInfo(m)]));
  const ids = new Set([...info.values()].flatMap((i) => (i.id === null ? [] : [i.id])));
  const count = [...info.values()].find((i) => i.count !== null)?.count ?? null;

  // What each member multicast, from its own mcast_sent events (sender id → seq → timestamp).
  const stamps = new Map<number, Map<number, number>>();
  for (const m of members) {
    const id = info.get(m.name)!.id;
    const sent = m.events.filter((e) => e.event === 'mcast_sent');
    if (id === null || sent.length === 0) continue;
    stamps.set(id, new Map(sent.map((e) => [Number(e.seq), Number(e.lamport)])));
  }
  const sentTotal = stamps.size === 0 ? null : [...stamps.values()].reduce((n, s) => n + s.size, 0);

  const problems: string[] = [];
  for (const m of members) {
    m.delivered.forEach((d, i) => {
      const at = `${m.name} delivered ${fmt(d)} at position ${i + 1}`;
      if (!ids.has(d.sender)) problems.push(`${at}, but no member has id ${d.sender} (members: ${[...ids].sort((a, b) => a - b).join(', ')})`);
      else if (count !== null && (d.seq < 1 || d.seq > count)) problems.push(`${at}, but each member multicasts seq 1..${count}`);
      else {
        const own = stamps.get(d.sender);
        const stamp = own?.get(d.seq);
        if (own && stamp === undefined) problems.push(`${at}, which member ${d.sender} never multicast (it logged no mcast_sent for seq ${d.seq})`);
        else if (stamp !== undefined && stamp !== d.lamport) problems.push(`${at}, but member ${d.sender} stamped it lamport=${stamp}`);
      }
    });
  }

  // Everything that was multicast: from the events when every member wrote them, else the contract's count × members.
  const everyoneLogged = members.every((m) => stamps.has(info.get(m.name)!.id ?? -1));
  const all: string[] = everyoneLogged
    ? [...stamps.entries()].flatMap(([sender, seqs]) => [...seqs.keys()].map((seq) => `${sender}:${seq}`))
    : count === null
      ? []
      : [...ids].flatMap((sender) => Array.from({ length: count }, (_, k) => `${sender}:${k + 1}`));
  const notes: string[] = [];
  for (const m of members) {
    const got = new Set(m.delivered.map((d) => `${d.sender}:${d.seq}`));
    const missing = all.filter((k) => !got.has(k));
    if (missing.length === 0) continue;
    const [sender, seq] = missing[0]!.split(':');
    const example = `e.g. (sender=${sender}, seq=${seq})`;
    if (m.exitCode === 0) {
      problems.push(`${m.name} exited 0 (complete) but never delivered ${missing.length} of the ${all.length} messages multicast, ${example}`);
    } else {
      const how = m.exitCode === null ? 'was still running' : `ended incomplete (exit ${m.exitCode})`;
      notes.push(`${m.name} delivered ${got.size} of ${all.length} and ${how}: ${missing.length} not delivered, ${example}`);
    }
  }
  const shown = problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more`] : problems;
  return { ok: problems.length === 0, sent: sentTotal, problems: shown, notes };
}
