import { describe, expect, it } from 'vitest';
import { parseAction } from '../../../src/conditions/index.js';
import type { RunManifest } from '../../../src/results/index.js';
import { cutOf, faultBands, faultSpans, timelineMarks } from '../../../src/report/faults.js';

/** A timeline step as the runner records it; `action` parsed from the text unless given (kinds acklab does not know yet). */
const step = (atMs: number, line: string, o: { applied?: number | null; ok?: boolean; action?: unknown } = {}) => {
  const action = o.action ?? parseAction(line)[0];
  const text = `at ${atMs / 1000}s ${line}`;
  return { atMs, startedAtMs: atMs, appliedAtMs: o.applied === undefined ? atMs + 1 : o.applied, text, step: { atMs, text, action }, ok: o.ok ?? true } as RunManifest['timeline'][number];
};
const manifest = (...timeline: RunManifest['timeline']) => ({ timeline }) as RunManifest;

describe('fault timeline', () => {
  it('marks every step by its verb, class and nodes', () => {
    const marks = timelineMarks(manifest(step(1000, 'partition n1 | n2,n3'), step(2000, 'delay n1->n2 50ms'), step(3000, 'heal n2'), step(4000, 'kill n3', { action: { kind: 'process', op: 'kill', node: 'n3' } })));
    expect(marks.map((m) => [m.verb, m.cls, m.nodes])).toEqual([
      ['partition', 'partition', ['n1', 'n2', 'n3']],
      ['delay', 'impair', ['n1', 'n2']],
      ['heal', 'heal', ['n2']],
      ['kill', 'process', ['n3']],
    ]);
  });

  it('a partition lasts until a heal of all or of a node in it; failed steps neither open nor close', () => {
    const spans = faultSpans(manifest(step(1000, 'partition n1 | n2,n3'), step(2000, 'heal n9'), step(3000, 'heal n2'), step(4000, 'partition n1 -/-> n2', { ok: false, applied: null })));
    expect(spans).toEqual([
      expect.objectContaining({ cls: 'partition', plannedMs: 1000, inForceMs: 1001, endText: 'at 3s heal n2', endPlannedMs: 3000, endedMs: 3001 }),
    ]);
    expect(spans[0]!.cuts).toContainEqual({ from: 'n1', to: 'n3' });
    expect(spans[0]!.cuts).not.toContainEqual({ from: 'n2', to: 'n3' });
    expect(faultSpans(manifest(step(1000, 'partition n1 | n2')))[0]).toMatchObject({ endPlannedMs: null, endedMs: null });
  });

  it('process faults of kinds added later are shaded by their verbs (kill … start), unknown steps are marks only', () => {
    const kill = { kind: 'process', op: 'kill', node: 'n3' };
    const start = { kind: 'process', op: 'start', node: 'n3' };
    const m = manifest(step(1000, 'kill n3', { action: kill }), step(2000, 'heal'), step(3000, 'start n3', { action: start }), step(4000, 'nemesis flip-coin', { action: { kind: 'nemesis' } }));
    expect(faultSpans(m)).toEqual([expect.objectContaining({ cls: 'process', verb: 'kill', nodes: ['n3'], endText: 'at 3s start n3' })]);
    expect(timelineMarks(m).map((x) => x.cls)).toEqual(['process', 'heal', 'heal', 'other']);
  });

  it('bands: lighter while the rules are being applied or removed, full while in force', () => {
    const [span] = faultSpans(manifest(step(5000, 'partition a | b', { applied: 9764 }), step(11000, 'heal', { applied: 15465 })));
    expect(faultBands(span!)).toEqual([
      { fromMs: 5000, toMs: 9764, text: 'at 5s partition a | b (being applied)', cls: 'partition', changing: true },
      { fromMs: 9764, toMs: 11000, text: 'at 5s partition a | b', cls: 'partition', changing: false },
      { fromMs: 11000, toMs: 15465, text: 'at 5s partition a | b (being ended: at 11s heal)', cls: 'partition', changing: true },
    ]);
  });

  it('places a lost message at the cut that separates its path, in force at or after its send', () => {
    const spans = faultSpans(manifest(step(1000, 'partition a -/-> b', { applied: 1500 }), step(3000, 'heal')));
    expect(cutOf(spans, 'a', 'b', 1200)).toEqual({ atMs: 1500, text: 'at 1s partition a -/-> b' });
    expect(cutOf(spans, 'a', 'b', 2000)).toEqual({ atMs: 2000, text: 'at 1s partition a -/-> b' });
    // the other direction is not cut, and after the heal nothing is
    expect(cutOf(spans, 'b', 'a', 1200)).toBeNull();
    expect(cutOf(spans, 'a', 'b', 3500)).toBeNull();
  });
});
