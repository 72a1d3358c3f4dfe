import { describe, expect, it } from 'vitest';
import { parseAction } from '../../../src/conditions/index.js';
import { runVerdict, worst, type RunManifest, type RunMetrics } from '../../../src/results/index.js';

const peer = (updates: number, acks: number, reason = 'completed (duration)'): RunMetrics['peer'] => ({
  clients: [{ node: 'client', status: 'completed', exitCode: 0, reason, updatesSent: updates, acksReceived: acks, ackRatio: acks / updates, ackRttMs: { p50: 1, p95: 1, p99: 1, max: 1 }, connectionsMade: 1, connectionsLost: 0 }],
  updatesSent: updates,
  acksReceived: acks,
  ackRatio: acks / updates,
  ackRttMs: { p50: 1, p95: 1, p99: 1, max: 1 },
  connectionsLost: 0,
});

const metrics = (m: Partial<RunMetrics>): RunMetrics => ({ formatVersion: 1, condition: 'c', repetition: 1, status: 'ok', crashed: false, problems: [], peer: null, mcast: null, ...m });

const manifest = (m: Partial<RunManifest> & { steps?: string[] } = {}): RunManifest =>
  ({
    status: 'ok',
    condition: { name: 'c', actions: [], timeline: [] },
    nodes: [
      { name: 'client', command: ['acklab-peer', 'client', 'server:8888'] },
      { name: 'server', command: ['acklab-peer', 'server', '0.0.0.0:8888'] },
      { name: 'p1', command: ['acklab-mcast', '--id', '1'] },
    ],
    timeline: (m.steps ?? []).map((text, i) => ({ atMs: i * 1000, startedAtMs: 0, appliedAtMs: 0, text, ok: true, step: { atMs: 0, text, action: parseAction(text)[0]! } })),
    ...m,
  }) as unknown as RunManifest;

const check = (v: ReturnType<typeof runVerdict>, name: string) => v.checks.find((c) => c.name === name);

describe('run verdicts', () => {
  it('passes a run where every update was acked', () => {
    const v = runVerdict(manifest(), metrics({ peer: peer(10, 10) }));
    expect(v.verdict).toBe('pass');
    expect(v.checks.map((c) => c.name)).toEqual(['run', 'conditions', 'programs', 'acks']);
  });

  it('fails missing acks no fault accounts for, and passes them when a partition touched the pair', () => {
    expect(check(runVerdict(manifest(), metrics({ peer: peer(10, 7) })), 'acks')).toEqual({
      name: 'acks',
      verdict: 'fail',
      reason: '3 of 10 updates never acked and no fault of the run accounts for them',
    });
    const cut = runVerdict(manifest({ steps: ['partition client | server'] }), metrics({ peer: peer(10, 7) }));
    expect(cut.verdict).toBe('pass');
    expect(check(cut, 'acks')?.reason).toBe('3 of 10 updates not acked, accounted for by "partition client | server"');
    // a fault elsewhere does not account for them
    expect(runVerdict(manifest({ steps: ['partition p1 | p2'] }), metrics({ peer: peer(10, 7) })).verdict).toBe('fail');
  });

  it('fails a broken total order naming the first divergence', () => {
    const mcast = { nodes: [], sent: 3, delivered: 9, undelivered: 0, acksReceived: 18, acksExpected: 18, peersLost: 0, ackRatio: 1, deliveryLatencyMs: { p50: 1, p95: 1, p99: 1, max: 1 }, order: { ok: false as const, firstDivergence: 'first divergence at position 2: …', problems: [] } };
    const v = runVerdict(manifest(), metrics({ mcast }));
    expect(v.verdict).toBe('fail');
    expect(check(v, 'total-order')).toMatchObject({ verdict: 'fail', reason: 'first divergence at position 2: …' });
  });

  it('is invalid when a condition was lost or the run did not finish, whatever the numbers', () => {
    const lost = runVerdict(manifest({ status: 'invalid', invalid: [{ atMs: 6200, reason: 'the helper for n1 -> n2 died' }] }), metrics({ peer: peer(10, 10) }));
    expect(lost.verdict).toBe('invalid');
    expect(check(lost, 'conditions')?.reason).toBe('at +6.20s the helper for n1 -> n2 died');
    expect(runVerdict(manifest({ status: 'interrupted', error: 'interrupted (Ctrl-C)' }), metrics({})).verdict).toBe('invalid');
  });

  it('fails a crash unless the run killed that node itself', () => {
    const crashed = metrics({ crashed: true, problems: ['client crashed (no summary); see nodes/client/stderr.log'], peer: { ...peer(5, 5)!, clients: [{ ...peer(5, 5)!.clients[0]!, status: 'crashed' }] } });
    expect(check(runVerdict(manifest(), crashed), 'programs')).toMatchObject({ verdict: 'fail', reason: 'client crashed (no summary); see nodes/client/stderr.log' });
  });

  it('the worst verdict wins', () => {
    expect(worst([])).toBe('pass');
    expect(worst(['pass', 'fail'])).toBe('fail');
    expect(worst(['fail', 'invalid', 'pass'])).toBe('invalid');
  });
});
