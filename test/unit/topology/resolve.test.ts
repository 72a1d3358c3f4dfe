import { describe, expect, it } from 'vitest';
import { parseImpairment } from '../../../src/conditions/index.js';
import { parseTopology, type Topology } from '../../../src/topology/index.js';

const node = (t: Topology, name: string) => t.nodes.find((n) => n.name === name)!;

describe('name → address resolution', () => {
  it('a peer-client reaches its server by node name and the server\'s port', () => {
    const t = parseTopology(`
name: pair
nodes:
  srv: { kind: peer-server, args: { port: 7000 } }
  cli: { kind: peer-client, args: { server: srv, interval: 1500ms, count: 3, reconnect: true } }
`);
    expect(node(t, 'srv').command).toEqual(['acklab-peer', 'server', '0.0.0.0:7000']);
    expect(node(t, 'cli').command).toEqual(['acklab-peer', 'client', 'srv:7000', '--interval', '1.5s', '--count', '3', '--reconnect']);
    expect(node(t, 'cli').dependsOn).toEqual(['srv']);
    expect(node(t, 'srv').ready).toMatchObject({ type: 'port', port: 7000 });
    expect(node(t, 'cli').ready.type).toBe('started');
  });

  it('default ports: echo 8881, peer 8888, mcast 9000', () => {
    const t = parseTopology(`
name: d
nodes:
  e: { kind: echo }
  s: { kind: peer-server }
  c: { kind: peer-client, args: { server: s } }
  m1: { kind: mcast }
  m2: { kind: mcast }
`);
    expect(node(t, 'e').ports).toEqual([8881]);
    expect(node(t, 'c').command).toContain('s:8888');
    expect(node(t, 'm1').command).toEqual(expect.arrayContaining(['--listen', '9000', '--peers', '2@m2:9000']));
  });

  it('mcast ids: explicit ids are kept, the rest fill the gaps in file order; peers carry id@name:port', () => {
    const t = parseTopology(`
name: mesh
defaults: { args: { mcast: { count: 5, interval: 50ms } } }
nodes:
  a: { kind: mcast }
  b: { kind: mcast, args: { id: 1, port: 9100 } }
  c: { kind: mcast, args: { count: 7 } }
`);
    const a = node(t, 'a').command;
    expect(a.slice(0, 3)).toEqual(['acklab-mcast', '--id', '2']);
    expect(a).toEqual(expect.arrayContaining(['--peers', '1@b:9100,3@c:9000', '--count', '5', '--interval', '50ms']));
    expect(node(t, 'c').command).toEqual(expect.arrayContaining(['--id', '3', '--count', '7']));
    expect(node(t, 'b').command).toEqual(expect.arrayContaining(['--listen', '9100']));
  });

  it('an explicit peer list limits the mesh', () => {
    const t = parseTopology(`
name: mesh
nodes:
  a: { kind: mcast, args: { peers: [b] } }
  b: { kind: mcast, args: { peers: [a] } }
  c: { kind: mcast, args: { peers: [a] } }
`);
    expect(node(t, 'a').command).toEqual(expect.arrayContaining(['--peers', '2@b:9000']));
  });

  it('a topology without networks gets one implicit network every node joins', () => {
    const t = parseTopology('name: x\nnodes:\n  a: { kind: echo }\n');
    expect(t.networks).toEqual([{ name: 'net', internal: true }]);
    expect(node(t, 'a').networks).toEqual(['net']);
  });

  it('defaults.networks and defaults.env apply; node values win', () => {
    const t = parseTopology(`
name: x
networks: { n1: { subnet: 10.9.0.0/24 }, n2: {} }
defaults: { networks: [n1], env: { A: 1, B: x } }
nodes:
  a: { kind: echo, env: { B: y } }
  b: { kind: echo, networks: [n1, n2] }
`);
    expect(node(t, 'a').networks).toEqual(['n1']);
    expect(node(t, 'a').env).toEqual({ A: '1', B: 'y' });
    expect(node(t, 'b').networks).toEqual(['n1', 'n2']);
    expect(t.networks).toEqual([{ name: 'n1', subnet: '10.9.0.0/24', internal: true }, { name: 'n2', internal: true }]);
  });

  it('custom nodes: a string command runs under sh -c, a list runs as is; image defaults to the node image', () => {
    const t = parseTopology(`
name: x
nodes:
  a: { kind: custom, args: { command: "echo hi && sleep 1" } }
  b: { kind: custom, args: { image: "busybox:local", command: [sleep, "10"], ready: { log: "^up$", timeout: 5s } } }
`);
    expect(node(t, 'a').command).toEqual(['sh', '-c', 'echo hi && sleep 1']);
    expect(node(t, 'a').image).toEqual({ type: 'acklab-node' });
    expect(node(t, 'b').image).toEqual({ type: 'local', ref: 'busybox:local' });
    expect(node(t, 'b').ready).toEqual({ type: 'log', pattern: '^up$', timeoutMs: 5000 });
  });

  it('links: between gives both directions, from/to one; units are parsed', () => {
    const t = parseTopology(`
name: x
nodes: { a: { kind: echo }, b: { kind: echo }, c: { kind: echo } }
links:
  - { between: [a, b], delay: 50ms, jitter: 5ms, rate: 1mbit }
  - { from: c, to: a, loss: 5% }
`);
    const ab = parseImpairment({ delay: '50ms', jitter: '5ms', rate: '1mbit' });
    expect(t.links).toEqual([
      { from: 'a', to: 'b', impairment: ab, source: 'links[0]' },
      { from: 'b', to: 'a', impairment: ab, source: 'links[0]' },
      { from: 'c', to: 'a', impairment: parseImpairment({ loss: '5%' }), source: 'links[1]' },
    ]);
    expect(ab).toMatchObject({ delayMs: 50, jitterMs: 5, rateBps: 1e6 });
  });

  it('links take every field of the condition language, checked by its rules', () => {
    const t = parseTopology(`
name: x
nodes: { a: { kind: echo }, b: { kind: echo } }
links:
  - { from: a, to: b, delay: 10ms, jitter: 2ms, distribution: pareto, duplicate: 1%, reorder: 5%, corrupt: 0.1%, loss: 1%, lossCorrelation: 25% }
`);
    expect(t.links[0]!.impairment).toMatchObject({ distribution: 'pareto', duplicatePct: 1, reorderPct: 5, corruptPct: 0.1, lossCorrelationPct: 25 });
  });
});
