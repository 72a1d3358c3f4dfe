import { describe, expect, it } from 'vitest';
import { ConditionError, checkPartitionNodes, describePartition, parsePartition, partitionCuts } from '../../../src/conditions/index.js';
import { problemsOf } from '../../support/problems.js';

const NODES = ['n1', 'n2', 'n3'];


describe('parsePartition', () => {
  it.each([
    ['n1,n2 n3', [['n1', 'n2'], ['n3']]],
    ['n1,n2 | n3', [['n1', 'n2'], ['n3']]],
    ['n1 | n2 | n3', [['n1'], ['n2'], ['n3']]],
    ['server,p1 | client, p2, p3', [['server', 'p1'], ['client', 'p2', 'p3']]],
  ])('%s', (text, groups) => {
    expect(parsePartition(text)).toEqual({ kind: 'groups', groups });
  });

  it('reads a one-way cut', () => {
    expect(parsePartition('n1 -/-> n2')).toEqual({ kind: 'one-way', from: 'n1', to: 'n2' });
  });

  it.each([
    ['n1,n2', /at least two groups/],
    ['', /at least two groups \(got 0\)/],
    ['n1,n2 | n2', /node "n2" is named twice in the partition \(groups 1 and 2\)/],
    ['n1, | n2', /group 1 has an empty node name/],
    ['n1 | | n2', /group 2 is empty/],
    ['n1 -/-> n1', /two different nodes/],
    ['N1 | n2', /"N1" is not a node name/],
    ['n1 -/-> ', /write a one-way cut as "a -\/-> b"/],
  ])('refuses %j', (text, message) => {
    expect(problemsOf(() => parsePartition(text)).join('\n')).toMatch(message);
  });

  it('checks the named nodes against the lab, all at once', () => {
    expect(problemsOf(() => checkPartitionNodes(parsePartition('n1 | n4,n5'), NODES))).toEqual([
      'unknown node "n4"; the lab\'s nodes are: n1, n2, n3',
      'unknown node "n5"; the lab\'s nodes are: n1, n2, n3',
    ]);
  });

  it('turns groups into cuts in both directions, and a one-way cut into one', () => {
    expect(partitionCuts(parsePartition('n1,n2 | n3'))).toEqual([
      { from: 'n1', to: 'n3', style: 'drop' },
      { from: 'n2', to: 'n3', style: 'drop' },
      { from: 'n3', to: 'n1', style: 'drop' },
      { from: 'n3', to: 'n2', style: 'drop' },
    ]);
    expect(partitionCuts(parsePartition('n1 -/-> n2'), 'reset')).toEqual([{ from: 'n1', to: 'n2', style: 'reset' }]);
  });

  it('describes what it parsed in the same syntax', () => {
    for (const text of ['n1,n2 | n3', 'n1 -/-> n2']) expect(describePartition(parsePartition(text))).toBe(text);
  });
});
