import { describe, expect, it } from 'vitest';
import { LABELS, decodeEngines } from '../../../src/common/index.js';
import { Lab, ReadinessError, SETTLE_SCRIPT, chooseVxlanId, labRuntime, removeLab, runtimeForTopology } from '../../../src/lab/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import type { EngineSwarm } from '../../../src/runtime/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const spread = parseTopology(`
name: spread
engines: { a: "unix:///run/a.sock", b: "unix:///run/b.sock" }
nodes:
  server: { kind: peer-server, engine: a }
  c1: { kind: peer-client, engine: b, args: { server: server } }
  c2: { kind: peer-client, args: { server: server } }
`);

const manager = { state: 'active', manager: true, nodeAddr: '10.200.7.11', managers: ['10.200.7.11:2377'], nodeId: 'm1' };
const worker = { state: 'active', manager: false, nodeAddr: '10.200.7.12', managers: ['10.200.7.11:2377'], nodeId: 'w1' };
const inactive = { state: 'inactive', manager: false, nodeAddr: '', managers: [], nodeId: '' };
/** Every overlay probe's address answers at once. */
const overlayAnswers = (_node: string, argv: string[]) =>
  argv[2] === SETTLE_SCRIPT ? { exitCode: 0, stdout: JSON.stringify(Object.fromEntries(argv.slice(5).map((ip) => [ip, 2]))), stderr: '' } : undefined;

function engines(behaviour: { crash?: Set<string>; swarmA?: EngineSwarm; swarmB?: EngineSwarm } = {}) {
  const home = new FakeRuntime({ idPrefix: 'h-', host: 'unix:///var/run/docker.sock' });
  const a = new FakeRuntime({ idPrefix: 'a-', host: 'unix:///run/a.sock', missingImages: new Set([images.node, images.shaper]), swarm: behaviour.swarmA ?? manager, exec: overlayAnswers, ...behaviour });
  const b = new FakeRuntime({ idPrefix: 'b-', host: 'unix:///run/b.sock', missingImages: new Set([images.node, images.shaper]), swarm: behaviour.swarmB ?? worker, exec: overlayAnswers, ...behaviour });
  const opened: string[] = [];
  const open = (address: string) => {
    opened.push(address);
    return address.includes('/a.') ? a : b;
  };
  return { home, a, b, open, opened };
}

const roles = (rt: FakeRuntime) => [...rt.containersById.values()].map((c) => `${c.labels[LABELS.role]}:${c.labels[LABELS.node] ?? c.name}`).sort();

describe('a lab over several engines', () => {
  it('puts each node on its engine, the network on the first engine, the lease where acklab talks to, and records the engines', async () => {
    const { home, a, b, open } = engines();
    const lab = await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, runId: 'r1', watchdog: false });
    expect(roles(a)).toEqual(['node:c2', 'node:server']);
    expect(roles(b)).toEqual(['node:c1']);
    expect(roles(home)).toEqual(['lease:acklab-spread']);
    expect(lab.nodes.map((n) => `${n.name}@${n.engine}`).sort()).toEqual(['c1@b', 'c2@a', 'server@a']);
    const nets = [...a.networksById.values()];
    expect(nets.map((n) => n.name)).toEqual(['acklab-spread_net']);
    expect(b.networksById.size).toBe(0);
    const lease = [...home.containersById.values()].find((c) => c.labels[LABELS.role] === 'lease')!;
    expect(decodeEngines(lease.labels[LABELS.engines])).toEqual([
      { name: 'a', address: 'unix:///run/a.sock' },
      { name: 'b', address: 'unix:///run/b.sock' },
    ]);
    expect(b.containerOf('c1').labels[LABELS.engine]).toBe('b');
  });

  it('asks for an attachable overlay network', async () => {
    const { home, a, open } = engines();
    const specs: unknown[] = [];
    const create = a.networks.create;
    a.networks.create = async (spec) => (specs.push(spec), create(spec));
    await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false });
    expect(specs).toEqual([expect.objectContaining({ name: 'acklab-spread_net', driver: 'overlay', attachable: true, internal: true })]);
    // A VXLAN id of its own, from the top of the range, not the swarm's lowest free one.
    const vni = (specs[0] as { vxlanId: number }).vxlanId;
    expect(vni).toBeGreaterThanOrEqual(2 ** 20);
    expect(vni).toBeLessThan(2 ** 24);
  });

  it('loads the images each engine lacks from the engine acklab builds on, before creating anything', async () => {
    const { home, a, b, open } = engines();
    await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false });
    expect(home.events.filter((e) => e.startsWith('save'))).toHaveLength(4);
    expect(a.events.filter((e) => e.startsWith('load')).sort()).toEqual([`load ${images.node}`, `load ${images.shaper}`]);
    expect(b.events.filter((e) => e.startsWith('load')).sort()).toEqual([`load ${images.node}`, `load ${images.shaper}`]);
    const firstLoad = b.events.findIndex((e) => e.startsWith('load'));
    const firstCreate = b.events.findIndex((e) => e.startsWith('create'));
    expect(firstLoad).toBeLessThan(firstCreate);
    // Already there: nothing is loaded again.
    home.events.length = 0;
    await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false, name: 'again' });
    expect(home.events.filter((e) => e.startsWith('save'))).toEqual([]);
  });

  it('stop removes the lab from every engine', async () => {
    const { home, a, b, open } = engines();
    const lab = await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false });
    const removed = await lab.stop();
    expect(removed).toEqual({ containers: 4, networks: 1 });
    expect(home.containersById.size + a.containersById.size + b.containersById.size + a.networksById.size).toBe(0);
  });

  it('a node failing on one engine removes what was made on all of them', async () => {
    const { home, a, b, open } = engines({ crash: new Set(['c1']) });
    await expect(Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false })).rejects.toBeInstanceOf(ReadinessError);
    expect(home.containersById.size + a.containersById.size + b.containersById.size + a.networksById.size).toBe(0);
  });

  it('refuses, before creating anything, a swarm network name longer than a swarm allows', async () => {
    const { home, a, open } = engines();
    const name = 'x'.repeat(60);
    await expect(Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false, name })).rejects.toThrow(/swarm allows 63; choose a shorter lab name/);
    expect(home.containersById.size + a.containersById.size + a.networksById.size).toBe(0);
  });

  it('local is the engine acklab talks to, always the first (the lease goes there); networks go to the topology\'s first engine', async () => {
    const { home, a, open, opened } = engines();
    const t = parseTopology('name: l\nengines: { a: "unix:///run/a.sock", here: local }\nnodes:\n  e: { kind: echo }\n');
    const rt = runtimeForTopology(home, t, open);
    expect(rt.members!.map((m) => [m.name, m.address, m.runtime === home])).toEqual([
      ['here', 'unix:///var/run/docker.sock', true],
      ['a', 'unix:///run/a.sock', false],
    ]);
    expect(opened).toEqual(['unix:///run/a.sock']);
    const net = await rt.networks.create({ name: 'n', labels: {} });
    expect(a.networksById.has(net.id)).toBe(true);
    expect(runtimeForTopology(home, parseTopology('name: l\nnodes:\n  e: { kind: echo }\n'), open)).toBe(home);
  });

  it('verbs that have only the lab name reach every engine recorded on the labs of their engine', async () => {
    const { home, a, b, open } = engines();
    await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false });
    // A verb talking to the engine `up` talked to finds a and b through the lease's engines label.
    const rt = await labRuntime(home, { open });
    expect(rt.members!.map((m) => m.address)).toEqual(['unix:///var/run/docker.sock', 'unix:///run/a.sock', 'unix:///run/b.sock']);
    expect((await rt.containers.list([`${LABELS.role}=node`])).map((c) => c.labels[LABELS.node]).sort()).toEqual(['c1', 'c2', 'server']);
    // An engine with no lab that names others stays as it is.
    expect(await labRuntime(b, { open })).toBe(b);
    // The whole lab goes through it, networks on a included.
    expect(await removeLab(rt, 'spread')).toEqual({ containers: 4, networks: 1 });
    expect(a.networksById.size + a.containersById.size + b.containersById.size).toBe(0);
  });

  it('an engine recorded by a lab that does not answer is left out, with a line', async () => {
    const { home, a, b, open } = engines();
    await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false });
    b.containers.list = async () => {
      throw new Error('connect ENOENT /run/b.sock');
    };
    const lines: string[] = [];
    const rt = await labRuntime(home, { open, log: (l) => lines.push(l) });
    expect(rt.members!.map((m) => m.address)).toEqual(['unix:///var/run/docker.sock', 'unix:///run/a.sock']);
    expect(lines).toEqual([expect.stringContaining('engine unix:///run/b.sock (recorded by a lab) does not answer, left out: connect ENOENT')]);
  });

  it.each([
    ['the first engine in no swarm', { swarmA: inactive }, 'engine "a" (unix:///run/a.sock) is not in a swarm (state inactive)'],
    ['the first engine a worker', { swarmA: { ...worker, nodeAddr: '10.200.7.11' } }, 'engine "a" (unix:///run/a.sock) is a swarm worker; the first engine listed makes the lab\'s networks and must be a manager'],
    ['another engine in no swarm', { swarmB: inactive }, 'engine "b" (unix:///run/b.sock) is not in a swarm (state inactive): join it to a\'s'],
    ['another engine in another swarm', { swarmB: { ...worker, managers: ['10.9.9.9:2377'] } }, 'engine "b" (unix:///run/b.sock) is in another swarm (its managers: 10.9.9.9:2377; a advertises 10.200.7.11)'],
  ])('refuses, before any node, network or image is made, and leaves nothing: %s', async (_, swarms, message) => {
    const { home, a, b, open } = engines(swarms);
    const err = await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('the engines of a lab must form one swarm');
    expect((err as Error).message).toContain(message);
    // Only the lab's lease was made (the name is claimed first), and it is gone again.
    expect(a.events.concat(b.events).filter((e) => /^(create|network|load)/.test(e))).toEqual([]);
    expect([...home.containersById.values(), ...a.containersById.values(), ...b.containersById.values()]).toEqual([]);
  });

  it('a topology without engines runs on the primary alone, also under a runtime over several engines', async () => {
    const { home, a, b, open } = engines();
    await Lab.fromTopology(spread).start({ runtime: home, images, openEngine: open, watchdog: false });
    const wide = await labRuntime(home, { open });
    const plain = parseTopology('name: plain\nnodes:\n  e: { kind: echo }\n');
    const before = [a.events.length, b.events.length];
    const lab = await Lab.fromTopology(plain).start({ runtime: wide, images, watchdog: false });
    expect([a.events.length, b.events.length]).toEqual(before);
    expect(home.containerOf('e').labels[LABELS.lab]).toBe('plain');
    expect(lab.runtime).toBe(home);
  });
});

describe('chooseVxlanId', () => {
  it('picks a random id in 2^20…2^24−1 that no listed network has, also from a random source that repeats itself', () => {
    const net = (vxlanId?: number) => ({ id: `n${vxlanId}`, name: 'x', labels: {}, subnets: [], ...(vxlanId === undefined ? {} : { vxlanId }) });
    expect(chooseVxlanId([], () => 0)).toBe(2 ** 20);
    expect(chooseVxlanId([], () => 0.999999999)).toBe(2 ** 24 - 1);
    expect(chooseVxlanId([net(2 ** 20), net(2 ** 20 + 1), net()], () => 0)).toBe(2 ** 20 + 2);
    const seq = [0, 0, 0.5];
    expect(chooseVxlanId([net(2 ** 20)], () => seq.shift() ?? 0.5)).toBe(2 ** 20 + Math.floor(0.5 * (2 ** 24 - 2 ** 20)));
  });
});
