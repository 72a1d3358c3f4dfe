/**
 * Grading mcast implementations of the contract: members known by their ACKLAB_* variables, status
 * from their exit, every message accounted for, and the run verdict's checks (a failed total order
 * names the first divergence).
 */
import { describe, expect, it } from 'vitest';
import { parseAction } from '../../../src/conditions/index.js';
import type { DeliveredRecord } from '../../../src/programs/mcast/delivered.js';
import { accountedCheck, implStatus, memberInfo, runMetrics, runVerdict, type MemberNode, type RunManifest, type TimedEvent } from '../../../src/results/index.js';

const env = (id: number, count = 2) => ({
  ACKLAB_ID: String(id),
  ACKLAB_PEERS: [1, 2, 3].filter((x) => x !== id).map((x) => `${x}@m${x}:9000`).join(','),
  ACKLAB_COUNT: String(count),
  ACKLAB_OUT: '/tmp/acklab-delivered.jsonl',
});
const rec = (lamport: number, sender: number, seq: number): DeliveredRecord => ({ lamport, sender, seq, deliveredAt: 1000 + lamport });
/** Six messages (3 members × 2) in (timestamp, sender) order. */
const ORDER = [rec(1, 1, 1), rec(1, 2, 1), rec(1, 3, 1), rec(5, 1, 2), rec(5, 2, 2), rec(6, 3, 2)];
const sent = (id: number): TimedEvent[] =>
  ORDER.filter((r) => r.sender === id).map((r) => ({ ts: 900, event: 'mcast_sent', lamport: r.lamport, seq: r.seq }) as TimedEvent);
interface Member extends MemberNode {
  kind: string;
  command: string[];
  events: TimedEvent[];
  delivered: DeliveredRecord[];
}
const member = (id: number, delivered: DeliveredRecord[] = ORDER, exitCode: number | null = 0, events = sent(id)): Member => ({
  name: `m${id}`,
  kind: 'mcast-impl',
  command: ['python3', '-u', '/opt/mcast/mcast.py'],
  env: env(id),
  exitCode,
  events,
  delivered,
});

describe('members of the contract', () => {
  it('id, count and group size come from ACKLAB_* (acklab-mcast: from its flags)', () => {
    expect(memberInfo(member(2))).toEqual({ id: 2, count: 2, members: 3 });
    expect(memberInfo({ command: ['acklab-mcast', '--id', '4', '--peers', '1@a:1,2@b:1', '--count', '9'] })).toEqual({ id: 4, count: 9, members: 3 });
  });

  it.each([
    [0, 'completed'],
    [3, 'incomplete'],
    [1, 'incomplete'],
    [143, 'incomplete'],
    [137, 'crashed'],
    [null, 'running'],
  ] as const)('exit %s → %s', (code, status) => {
    expect(implStatus(code)).toBe(status);
  });
});

describe('every message accounted for', () => {
  it('passes when every member delivered everything multicast, with its sender\'s stamps', () => {
    expect(accountedCheck([member(1), member(2), member(3)])).toEqual({ ok: true, sent: 6, problems: [], notes: [] });
  });

  it('names a delivery nobody sent, a wrong stamp, and a member that exited 0 without everything', () => {
    const m2 = member(2, [...ORDER.slice(0, 5), rec(7, 3, 2)]);
    const m3 = member(3, [...ORDER.slice(0, 5), rec(6, 3, 2), rec(8, 4, 1)]);
    const m1 = member(1, ORDER.slice(0, 4));
    const a = accountedCheck([m1, m2, m3]);
    expect(a.ok).toBe(false);
    expect(a.problems).toEqual([
      'm2 delivered (lamport=7, sender=3, seq=2) at position 6, but member 3 stamped it lamport=6',
      'm3 delivered (lamport=8, sender=4, seq=1) at position 7, but no member has id 4 (members: 1, 2, 3)',
      'm1 exited 0 (complete) but never delivered 2 of the 6 messages multicast, e.g. (sender=2, seq=2)',
    ]);
  });

  it('a member that ended incomplete reported what it missed: a note, not a failure', () => {
    const a = accountedCheck([member(1, ORDER.slice(0, 3), 3), member(2), member(3)]);
    expect(a).toMatchObject({ ok: true, problems: [] });
    expect(a.notes).toEqual(['m1 delivered 3 of 6 and ended incomplete (exit 3): 3 not delivered, e.g. (sender=1, seq=2)']);
  });

  it('without events, the contract\'s count × members is what was multicast', () => {
    const a = accountedCheck([member(1, ORDER, 0, []), member(2, ORDER.slice(0, 5), 0, []), member(3, ORDER, 0, [])]);
    expect(a).toMatchObject({ ok: false, sent: null, problems: ['m2 exited 0 (complete) but never delivered 1 of the 6 messages multicast, e.g. (sender=3, seq=2)'] });
  });
});

describe('verdicts of a graded run', () => {
  const manifest = (steps: string[] = []) =>
    ({
      status: 'ok',
      condition: { name: 'c', actions: [], timeline: [] },
      nodes: [1, 2, 3].map((id) => ({ name: `m${id}`, kind: 'mcast-impl', command: [], env: env(id) })),
      timeline: steps.map((text) => ({ atMs: 0, startedAtMs: 0, appliedAtMs: 0, text, ok: true, step: { atMs: 0, text, action: parseAction(text)[0]! } })),
    }) as unknown as RunManifest;
  const metrics = (nodes: ReturnType<typeof member>[]) => runMetrics({ condition: 'c', repetition: 1, status: 'ok', nodes });

  it('passes a complete, agreeing run', () => {
    const v = runVerdict(manifest(), metrics([member(1), member(2), member(3)]));
    expect(v.verdict).toBe('pass');
    expect(v.checks.map((c) => c.name)).toEqual(['run', 'conditions', 'programs', 'total-order', 'accounted', 'mcast-delivery']);
  });

  it('fails a broken total order and names the first divergence: members, position, the two messages', () => {
    const swapped = [ORDER[0]!, ORDER[2]!, ORDER[1]!, ...ORDER.slice(3)];
    const v = runVerdict(manifest(), metrics([member(1), member(2), member(3, swapped)]));
    expect(v.verdict).toBe('fail');
    expect(v.checks.find((c) => c.name === 'total-order')!.reason).toBe(
      'first divergence at position 2: m1 has (lamport=1, sender=2, seq=1) but m3 has (lamport=1, sender=3, seq=1); ' +
        'm3: position 3 (lamport=1, sender=2, seq=1) is not after position 2 (lamport=1, sender=3, seq=1) in (timestamp, sender) order',
    );
  });

  it('a partition that never heals: agreeing prefixes pass, the missing deliveries are accounted for by it', () => {
    const cut = [member(1, ORDER.slice(0, 4), 3), member(2, ORDER.slice(0, 3), 3), member(3, ORDER.slice(0, 2), 3)];
    const v = runVerdict(manifest(['partition m3 | m1,m2']), metrics(cut));
    expect(v.verdict).toBe('pass');
    expect(v.checks.find((c) => c.name === 'total-order')!.reason).toBe('the members agree on a common prefix of 2 deliveries');
    expect(v.checks.find((c) => c.name === 'mcast-delivery')!.reason).toMatch(/^9 deliveries missing, accounted for by "partition m3 \| m1,m2"$/);
    // without the fault the same shortfall fails
    expect(runVerdict(manifest(), metrics(cut)).checks.find((c) => c.name === 'mcast-delivery')!.verdict).toBe('fail');
  });

  it('a member killed by a signal other than SIGTERM crashed: the programs check fails', () => {
    const v = runVerdict(manifest(), metrics([member(1), member(2), member(3, ORDER, 137)]));
    expect(v.checks.find((c) => c.name === 'programs')).toMatchObject({ verdict: 'fail', reason: expect.stringMatching(/^m3 was killed \(exit 137\)/) });
  });
});
