import { describe, expect, it } from 'vitest';
import { describePlan } from '../../../src/cli/up.js';
import { parseTopology } from '../../../src/topology/index.js';

describe('up --dry-run plan', () => {
  it('shows stages in start order, each node\'s argv, and link conditions in user units', () => {
    const plan = describePlan(
      parseTopology(`
name: pair
networks: { lan: { subnet: 10.5.0.0/24 } }
nodes:
  client: { kind: peer-client, args: { server: server, count: 3 } }
  server: { kind: peer-server }
links:
  - { from: client, to: server, delay: 50ms, jitter: 5ms, loss: 1%, rate: 2mbit }
`),
    );
    expect(plan).toBe(
      [
        'lab "pair": 2 nodes on lan (10.5.0.0/24, internal)',
        'stage 1:',
        '  server (peer-server, acklab node image, networks lan): ["acklab-peer","server","0.0.0.0:8888"]',
        'stage 2:',
        '  client (peer-client, acklab node image, networks lan): ["acklab-peer","client","server:8888","--count","3"]',
        'every node: memory 512MiB, pids 512, logs 3 × 10MiB',
        'link client → server: delay=50ms jitter=5ms loss=1% rate=2mbit',
        '',
      ].join('\n'),
    );
  });

  it('names the instance when it is not the topology\'s name, and shows limits that differ per node', () => {
    const plan = describePlan(
      parseTopology(`
name: pair
networks: { lan: { internal: false } }
defaults: { limits: { memory: 256MiB } }
nodes:
  server: { kind: peer-server, limits: { pids: none }, logs: { maxSize: 1MiB, maxFiles: 2 } }
  client: { kind: peer-client, args: { server: server } }
`),
      'pair-2',
    );
    expect(plan.split('\n')).toEqual([
      'lab "pair-2" (topology "pair"): 2 nodes on lan (subnet chosen at up, with a route out)',
      'stage 1:',
      '  server (peer-server, acklab node image, networks lan): ["acklab-peer","server","0.0.0.0:8888"]',
      'stage 2:',
      '  client (peer-client, acklab node image, networks lan, memory 256MiB, pids 512, logs 3 × 10MiB): ["acklab-peer","client","server:8888"]',
      'every node: memory 256MiB, pids unlimited, logs 2 × 1MiB (unless shown)',
      '',
    ]);
  });
});
