import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { Lab, SETTLE_SCRIPT } from '../../../src/lab/index.js';
import type { ExecResult } from '../../../src/runtime/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import { FakeRuntime, type FakeContainer } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const manager = { state: 'active', manager: true, nodeAddr: '10.200.7.11', managers: ['10.200.7.11:2377'], nodeId: 'm1' };
const worker = { state: 'active', manager: false, nodeAddr: '10.200.7.12', managers: ['10.200.7.11:2377'], nodeId: 'w1' };
const topology = parseTopology(`
name: settle
engines: { a: "unix:///run/a.sock", b: "unix:///run/b.sock" }
networks: { front: {}, back: {} }
nodes:
  s: { kind: peer-server, engine: a, networks: [front, back] }
  c1: { kind: peer-client, engine: b, networks: [front], args: { server: s } }
  c2: { kind: peer-client, engine: a, networks: [back], args: { server: s } }
`);

/** The engines; `answer` says which addresses a probe hears from (default: all), per engine. */
function engines(answer: (engine: string, ips: string[]) => string[] = (_, ips) => ips) {
  const probes: { engine: string; ips: string[]; networks: string[] }[] = [];
  const exec = (engine: string) => (_node: string, argv: string[], c: FakeContainer): ExecResult | undefined => {
    if (argv[2] !== SETTLE_SCRIPT) return undefined;
    const ips = argv.slice(5);
    probes.push({ engine, ips, networks: [...c.networks] });
    return { exitCode: 0, stdout: `${JSON.stringify(Object.fromEntries(answer(engine, ips).map((ip) => [ip, 7])))}\n`, stderr: '' };
  };
  const home = new FakeRuntime({ idPrefix: 'h-', host: 'unix:///var/run/docker.sock' });
  const a = new FakeRuntime({ idPrefix: 'a-', host: 'unix:///run/a.sock', swarm: manager, exec: exec('a') });
  const b = new FakeRuntime({ idPrefix: 'b-', host: 'unix:///run/b.sock', swarm: worker, exec: exec('b') });
  const open = (address: string) => (address.includes('/a.') ? a : b);
  return { home, a, b, open, probes };
}

const probeContainers = (...rts: FakeRuntime[]) => rts.flatMap((rt) => [...rt.containersById.values()].filter((c) => c.labels[LABELS.role] === 'probe'));

describe('waiting for the overlay networks between engines', () => {
  it('probes, from each engine, every node of the others on the networks they share, then removes the probes', async () => {
    const { home, a, b, open, probes } = engines();
    const lines: string[] = [];
    const lab = await Lab.fromTopology(topology).start({ runtime: home, images, openEngine: open, watchdog: false, onProgress: (l) => lines.push(l) });
    const ip = (node: string, net: string) => lab.nodes.find((n) => n.name === node)!.addresses[net]!;
    const from = (engine: string) => probes.find((p) => p.engine === engine)!;
    // a has s and c2: it must reach c1 (front); b has c1: it must reach s (front, back) and c2 (back).
    expect(from('a').ips.sort()).toEqual([ip('c1', 'front')].sort());
    expect(from('b').ips.sort()).toEqual([ip('s', 'front'), ip('s', 'back'), ip('c2', 'back')].sort());
    expect(from('a').networks).toEqual(['acklab-settle_front']);
    expect(from('b').networks.sort()).toEqual(['acklab-settle_back', 'acklab-settle_front']);
    expect(probeContainers(a, b, home)).toEqual([]);
    expect(a.events.some((e) => e.startsWith('remove'))).toBe(true);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^overlay: every path between engines answers \(4; the last after 0\.0 s, [\d.]+ s with the probes\)$/)]));
  });

  it('a path that never answers fails the start, naming it and the ports a swarm needs, and leaves nothing', async () => {
    const { home, a, b, open } = engines((engine, ips) => (engine === 'b' ? ips.slice(1) : ips));
    const err = await Lab.fromTopology(topology).start({ runtime: home, images, openEngine: open, watchdog: false, overlayTimeoutMs: 30 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^lab "settle": after 0\.03 s the overlay network still does not carry traffic between engines:\n  - engine "b" does not reach node "(s|c2)" \(engine "a", [\d.]+ on (front|back)\)\n/);
    expect((err as Error).message).toContain('4789/udp (VXLAN data) and 7946/tcp+udp');
    expect([...home.containersById.values(), ...a.containersById.values(), ...b.containersById.values()]).toEqual([]);
  });

  it('a node that is no longer running is not waited for', async () => {
    const { home, a, open } = engines((engine, ips) => (engine === 'b' ? [] : ips));
    // Every node on a has finished by the time b probes them.
    const exec = a.behaviour.exec!;
    a.behaviour.exec = (node, argv, c) => {
      for (const x of a.containersById.values()) if (x.labels[LABELS.role] === 'node') Object.assign(x, { running: false, state: 'exited', exitCode: 0 });
      return exec(node, argv, c);
    };
    const lines: string[] = [];
    await Lab.fromTopology(topology).start({ runtime: home, images, openEngine: open, watchdog: false, onProgress: (l) => lines.push(l) });
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^overlay: every path between engines answers \(1; the last after/)]));
  });

  it('refuses an overlay timeout out of range before anything is made', async () => {
    const { home, a, open } = engines();
    for (const bad of [0, -1, Number.NaN, 2 ** 31]) {
      await expect(Lab.fromTopology(topology).start({ runtime: home, images, openEngine: open, watchdog: false, overlayTimeoutMs: bad })).rejects.toThrow(
        /start options: overlayTimeoutMs must be more than 0 and at most 2\^31−1 milliseconds/,
      );
    }
    expect([...home.containersById.values(), ...a.containersById.values()]).toEqual([]);
  });
});
