import { describe, expect, it } from 'vitest';
import {
  ConditionError,
  backendViolations,
  parseGroups,
  parseImpairment,
  partitionCuts,
  validateCut,
  validateEgress,
  validateGroups,
} from '../../../src/impair/index.js';

const NODES = ['n1', 'n2', 'n3'];

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConditionError) return err.problems;
    throw err;
  }
  return [];
}

describe('parseImpairment', () => {
  it('parses every field into canonical units', () => {
    expect(
      parseImpairment({
        delay: '100ms', jitter: '10ms', distribution: 'pareto', loss: '5%', lossCorrelation: '25%',
        duplicate: '1%', reorder: '10%', corrupt: '0.1%', rate: '1mbit',
      }),
    ).toEqual({
      delayMs: 100, jitterMs: 10, delayCorrelationPct: 0, distribution: 'pareto', lossPct: 5,
      lossCorrelationPct: 25, duplicatePct: 1, reorderPct: 10, corruptPct: 0.1, rateBps: 1e6,
    });
  });

  it.each([
    [{ delay: '-5ms' }, /delay: .*negative/],
    [{ delay: 'fast' }, /delay: "fast" is not a duration/],
    [{ delay: 50 }, /delay: duration 50 has no unit/],
    [{ delay: '10ms', jitter: '20ms' }, /jitter must be ≤ delay/],
    [{ loss: '120%' }, /loss: .*outside 0–100 %/],
    [{ loss: '-1%' }, /loss: .*outside 0–100 %/],
    [{ loss: 'lots' }, /loss: "lots" is not a percentage/],
    [{ rate: '1 furlong' }, /rate: .*is not a rate/],
    [{ rate: '0mbit' }, /rate: .*greater than zero/],
    [{ delay: '10ms', jitter: '1ms', distribution: 'gaussian' }, /distribution: "gaussian" is not one of uniform, normal, pareto, paretonormal/],
    [{ delay: '10ms', distribution: 'normal' }, /distribution needs a jitter/],
    [{ lossCorrelation: '20%', delay: '1ms' }, /loss-correlation needs a loss/],
    [{ reorder: '10%' }, /reorder needs a delay/],
    [{}, /nothing to impair/],
  ])('refuses %j', (input, message) => {
    const problems = problemsOf(() => parseImpairment(input, '--to n2'));
    expect(problems.join('\n')).toMatch(message);
    expect(problems.every((p) => p.startsWith('--to n2: '))).toBe(true);
  });

  it('reports every problem at once', () => {
    expect(problemsOf(() => parseImpairment({ delay: 'x', loss: '200%' }))).toHaveLength(3);
  });
});

describe('node, peer and partition validation', () => {
  const imp = parseImpairment({ delay: '10ms' });
  it.each([
    [{ node: 'n9', to: 'n2' }, /unknown node "n9"; the lab's nodes are: n1, n2, n3/],
    [{ node: 'n1', to: 'n7' }, /unknown peer "n7"/],
    [{ node: 'n1', to: 'n1' }, /cannot be impaired towards itself/],
  ])('egress %j', (c, message) => {
    expect(problemsOf(() => validateEgress({ ...c, impairment: imp }, NODES)).join()).toMatch(message);
  });

  it('accepts a valid egress condition and "*"', () => {
    expect(problemsOf(() => validateEgress({ node: 'n1', to: '*', impairment: imp }, NODES))).toEqual([]);
  });

  it.each([
    [[['n1', 'n2']], /at least two groups/],
    [[['n1', 'n2'], ['n2']], /node "n2" is named twice in the partition \(groups 1 and 2\)/],
    [[['n1'], ['n4']], /unknown node "n4"/],
    [[['n1', ''], ['n2']], /empty node name/],
  ])('groups %j', (groups, message) => {
    expect(problemsOf(() => validateGroups(groups, NODES)).join()).toMatch(message);
  });

  it('one-way cut needs two known, different nodes', () => {
    expect(problemsOf(() => validateCut('n1', 'n1', NODES)).join()).toMatch(/two different nodes/);
    expect(problemsOf(() => validateCut('n1', 'x', NODES)).join()).toMatch(/unknown node "x"/);
  });

  it('refuses delay correlation on the userspace backend only', () => {
    const c = parseImpairment({ delay: '10ms', jitter: '2ms', delayCorrelation: '25%' });
    expect(backendViolations(c, 'netem')).toEqual([]);
    expect(backendViolations(c, 'userspace').join()).toMatch(/netem backend only/);
  });
});

describe('partitions', () => {
  it.each([
    [['n1,n2', 'n3'], [['n1', 'n2'], ['n3']]],
    [['n1,n2 | n3'], [['n1', 'n2'], ['n3']]],
    [['n1', '|', 'n2', 'n3'], [['n1'], ['n2'], ['n3']]],
  ])('parseGroups(%j)', (args, groups) => {
    expect(parseGroups(args)).toEqual(groups);
  });

  it('turns groups into cuts in both directions', () => {
    expect(partitionCuts([['n1', 'n2'], ['n3']])).toEqual([
      { from: 'n1', to: 'n3', style: 'drop' },
      { from: 'n2', to: 'n3', style: 'drop' },
      { from: 'n3', to: 'n1', style: 'drop' },
      { from: 'n3', to: 'n2', style: 'drop' },
    ]);
  });
});
