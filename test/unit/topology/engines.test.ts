import { describe, expect, it } from 'vitest';
import { parseTopology, TopologyError, type Topology } from '../../../src/topology/index.js';

const engineOf = (t: Topology) => Object.fromEntries(t.nodes.map((n) => [n.name, n.engine]));

function problems(text: string): string[] {
  try {
    parseTopology(text, 't.yaml');
  } catch (err) {
    if (err instanceof TopologyError) return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('engines', () => {
  it('without engines: no node has an engine and the topology lists none', () => {
    const t = parseTopology('name: one\nnodes:\n  e: { kind: echo }\n');
    expect(t.engines).toBeUndefined();
    expect(t.nodes[0]!.engine).toBeUndefined();
  });

  it('lists the engines in file order; named nodes stay, the rest spread to the least loaded engine in file order', () => {
    const t = parseTopology(`
name: spread
engines: { a: "unix:///run/a/docker.sock", b: "ssh://lab@10.0.0.2", c: local }
nodes:
  m1: { kind: mcast, engine: b }
  m2: { kind: mcast, engine: b }
  m3: { kind: mcast }
  m4: { kind: mcast, engine: auto }
  m5: { kind: mcast }
  m6: { kind: mcast }
`);
    expect(t.engines).toEqual([
      { name: 'a', address: 'unix:///run/a/docker.sock' },
      { name: 'b', address: 'ssh://lab@10.0.0.2' },
      { name: 'c', address: 'local' },
    ]);
    expect(engineOf(t)).toEqual({ m1: 'b', m2: 'b', m3: 'a', m4: 'c', m5: 'a', m6: 'c' });
  });

  it('one engine: every node on it', () => {
    const t = parseTopology('name: one\nengines: { a: local }\nnodes:\n  e: { kind: echo }\n  f: { kind: echo }\n');
    expect(engineOf(t)).toEqual({ e: 'a', f: 'a' });
  });

  it('bad addresses, names, duplicates and references are reported with their positions', () => {
    const text = `name: spread
engines:
  a: unix:///run/a/docker.sock
  b: ftp://host
  c: unix:///run/a/docker.sock
  d: tcp://
nodes:
  m1: { kind: mcast, engine: a }
  m2: { kind: mcast, engine: z }
`;
    expect(problems(text)).toEqual([
      '4:6 engines.b: engine address "ftp://host": scheme ftp: is not one of unix:, tcp:, https:, ssh:; write unix:///path/docker.sock, tcp://host:2376, https://host:2376, ssh://user@host, or local',
      '5:6 engines.c: engine "c" has the address of engine "a" (unix:///run/a/docker.sock); each engine is listed once',
      expect.stringMatching(/^6:6 engines\.d: .*(not an engine address|names no host)/),
      '9:30 nodes.m2.engine: no engine named "z"; engines: a, b, c, d, or auto',
    ]);
  });

  it('engine: on a node of a topology without engines is an error that says what to add', () => {
    expect(problems('name: alone\nnodes:\n  m1: { kind: mcast, engine: a }\n  m2: { kind: mcast }\n')).toEqual([
      '3:30 nodes.m1.engine: the topology lists no engines; add engines: { NAME: ADDRESS, … } at the top, or remove engine:',
    ]);
  });

  it('an empty engines map is refused', () => {
    expect(problems('name: e\nengines: {}\nnodes:\n  m1: { kind: echo }\n')).toEqual([
      expect.stringMatching(/^2:\d+ engines: engines: lists no engine/),
    ]);
  });

  it('an engine may say the address it advertises; swarm: says how the swarm comes to be (existing by default)', () => {
    const t = parseTopology(`name: formed
swarm: form
engines:
  a: { address: "unix:///run/a/docker.sock", advertise: 10.200.5.11 }
  b: { address: "unix:///run/b/docker.sock", advertise: eth0 }
  c: "ssh://lab@10.0.0.2"
nodes:
  m1: { kind: echo }
`);
    expect(t.swarm).toBe('form');
    expect(t.engines).toEqual([
      { name: 'a', address: 'unix:///run/a/docker.sock', advertise: '10.200.5.11' },
      { name: 'b', address: 'unix:///run/b/docker.sock', advertise: 'eth0' },
      { name: 'c', address: 'ssh://lab@10.0.0.2' },
    ]);
    expect(parseTopology('name: e\nengines: { a: local, b: "unix:///b.sock" }\nnodes:\n  m1: { kind: echo }\n').swarm).toBe('existing');
    expect(parseTopology('name: e\nnodes:\n  m1: { kind: echo }\n').swarm).toBeUndefined();
  });

  it('bad advertise addresses, swarm values and swarm: without engines are reported with their positions', () => {
    expect(
      problems(`name: formed
swarm: make
engines:
  a: { address: "unix:///run/a.sock", advertise: 10.200.5.300 }
  b: { address: "unix:///run/b.sock", advertise: "10.1.1.1:0" }
  c: { address: "unix:///run/c.sock", advertise: "no such thing!" }
  d: { adress: "unix:///run/d.sock" }
nodes:
  m1: { kind: echo }
`),
    ).toEqual([
      '2:8 swarm: expected existing (use the swarm the engines are in) or form (acklab forms one where there is none)',
      expect.stringMatching(/^7:6 engines\.d: /),
    ]);
    expect(
      problems(`name: formed
engines:
  a: { address: "unix:///run/a.sock", advertise: 10.200.5.300 }
  b: { address: "unix:///run/b.sock", advertise: "10.1.1.1:0" }
  c: { address: "unix:///run/c.sock", advertise: "no such thing!" }
nodes:
  m1: { kind: echo }
`),
    ).toEqual([
      '3:50 engines.a.advertise: "10.200.5.300" is not an IPv4 address',
      '4:50 engines.b.advertise: "10.1.1.1:0": port 0 is not in 1–65535',
      '5:50 engines.c.advertise: "no such thing!" is neither an IPv4 address (optionally :port) nor a network interface name (e.g. eth0)',
    ]);
    expect(problems('name: e\nswarm: form\nnodes:\n  m1: { kind: echo }\n')).toEqual([
      '2:8 swarm: swarm: applies to a lab over several engines; list two or more under engines:, or remove swarm:',
    ]);
  });
});
