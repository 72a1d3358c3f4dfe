import { describe, expect, it } from 'vitest';
import { DependencyCycleError, parseTopology, startStages } from '../../../src/topology/index.js';

describe('start order', () => {
  it.each([
    { name: 'independent nodes start together', nodes: [{ name: 'a', dependsOn: [] }, { name: 'b', dependsOn: [] }], stages: [['a', 'b']] },
    { name: 'servers before clients', nodes: [{ name: 'c', dependsOn: ['s'] }, { name: 's', dependsOn: [] }], stages: [['s'], ['c']] },
    {
      name: 'a chain takes one stage per link',
      nodes: [{ name: 'a', dependsOn: ['b'] }, { name: 'b', dependsOn: ['c'] }, { name: 'c', dependsOn: [] }],
      stages: [['c'], ['b'], ['a']],
    },
    {
      name: 'a stage waits for its deepest dependency',
      nodes: [{ name: 'x', dependsOn: ['s', 'y'] }, { name: 'y', dependsOn: ['s'] }, { name: 's', dependsOn: [] }],
      stages: [['s'], ['y'], ['x']],
    },
    {
      name: 'the mesh starts as one unit, even when one member waits for something',
      nodes: [
        { name: 'm1', dependsOn: [], group: 'mcast' },
        { name: 'm2', dependsOn: ['db'], group: 'mcast' },
        { name: 'db', dependsOn: [] },
        { name: 'm3', dependsOn: [], group: 'mcast' },
      ],
      stages: [['db'], ['m1', 'm2', 'm3']],
    },
    {
      name: 'dependencies inside the mesh do not order it',
      nodes: [{ name: 'm1', dependsOn: ['m2'], group: 'g' }, { name: 'm2', dependsOn: ['m1'], group: 'g' }],
      stages: [['m1', 'm2']],
    },
  ])('$name', ({ nodes, stages }) => {
    expect(startStages(nodes)).toEqual(stages);
  });

  it('a cycle is an error naming the cycle', () => {
    expect(() => startStages([{ name: 'a', dependsOn: ['b'] }, { name: 'b', dependsOn: ['a'] }])).toThrow(DependencyCycleError);
    expect(() => startStages([{ name: 'a', dependsOn: ['b'] }, { name: 'b', dependsOn: ['a'] }])).toThrow('dependency cycle: a → b → a');
  });

  it('resolved topologies carry their stages: peer server, then clients; echo, then custom clients', () => {
    const t = parseTopology(`
name: x
nodes:
  c1: { kind: peer-client, args: { server: s } }
  s: { kind: peer-server }
  c2: { kind: peer-client, args: { server: s } }
  e: { kind: echo }
  u: { kind: custom, dependsOn: [e, c1], args: { command: "true" } }
`);
    expect(t.stages).toEqual([['s', 'e'], ['c1', 'c2'], ['u']]);
  });
});
