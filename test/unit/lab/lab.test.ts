import { describe, expect, it } from 'vitest';
import { LABELS, labelFilter } from '../../../src/common/index.js';
import { Lab, LabBusyError, ReadinessError, currentHolder, encodeHolder, type StartedLab } from '../../../src/lab/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const pair = parseTopology(`
name: pair
nodes:
  client: { kind: peer-client, args: { server: server } }
  server: { kind: peer-server }
`);
const twoNets = parseTopology(`
name: two
networks: { left: {}, right: { subnet: 10.99.0.0/24 } }
nodes:
  router: { kind: peer-server, networks: [left, right] }
  a: { kind: peer-client, networks: [left], args: { server: router } }
`);

describe('Lab.start', () => {
  it('starts servers before clients, each stage after the previous one is ready', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'r1' });
    const ev = rt.events.filter((e) => /^(start|ready) /.test(e));
    expect(ev).toEqual(['start server', 'ready server', 'start client']);
  });

  it('labels every container and network with lab, run id, node, role, owner and holder', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'r1', owner: 'alice@h' });
    const run = { [LABELS.managed]: 'true', [LABELS.lab]: 'pair', [LABELS.runId]: 'r1', [LABELS.owner]: 'alice@h', [LABELS.holder]: encodeHolder(currentHolder()), [LABELS.topology]: 'pair' };
    const nodes = [...rt.containersById.values()].filter((c) => c.labels[LABELS.role] === 'node');
    expect(nodes).toHaveLength(2);
    for (const c of nodes) {
      expect(c.labels).toMatchObject({ ...run, [LABELS.node]: c.spec.hostname });
      expect(c.image).toBe('acklab/node:test');
      expect(c.name).toBe(`acklab-pair.${c.spec.hostname}`);
    }
    // The lease: created, never started, named after the lab alone.
    const lease = [...rt.containersById.values()].find((c) => c.labels[LABELS.role] === 'lease')!;
    expect(lease).toMatchObject({ name: 'acklab-pair', state: 'created', labels: run, spec: { networkMode: 'none' } });
    const nets = [...rt.networksById.values()];
    expect(nets).toHaveLength(1);
    expect(nets[0]!.labels).toMatchObject({ ...run, [LABELS.role]: 'network' });
  });

  it('gives node containers memory, pids and log limits, and makes lab networks internal', async () => {
    const rt = new FakeRuntime();
    const t = parseTopology(`
name: lim
networks: { a: {}, b: { internal: false } }
nodes:
  s: { kind: peer-server, networks: [a, b] }
  c: { kind: peer-client, networks: [a], args: { server: s }, limits: { memory: 64MiB, pids: none }, logs: { maxSize: 1MiB, maxFiles: 2 } }
  o: { kind: peer-client, networks: [b], args: { server: s } }
`);
    const created: unknown[] = [];
    const create = rt.networks.create;
    rt.networks.create = async (spec) => (created.push(spec), create(spec));
    await Lab.fromTopology(t).start({ runtime: rt, images });
    expect(rt.containerOf('s').spec).toMatchObject({ limits: { memoryBytes: 512 * 1024 ** 2, pids: 512 }, logs: { maxSize: '10240k', maxFiles: 3 } });
    expect(rt.containerOf('c').spec.limits).toEqual({ memoryBytes: 64 * 1024 ** 2 });
    expect(rt.containerOf('c').spec.logs).toEqual({ maxSize: '1024k', maxFiles: 2 });
    expect(created).toEqual([expect.objectContaining({ name: 'acklab-lim.a', internal: true }), expect.objectContaining({ name: 'acklab-lim.b', internal: false })]);
    // Docker's DNS never answers an unknown name on an internal network: such lookups fail in 1 s there.
    expect(rt.containerOf('c').spec.dnsOptions).toEqual(['timeout:1', 'attempts:1']);
    expect(rt.containerOf('s').spec.dnsOptions).toEqual(['timeout:1', 'attempts:1']);
    expect(rt.containerOf('o').spec.dnsOptions).toBeUndefined();
  });

  it('joins a node to every network it lists, with its name as DNS alias; keeps user subnets', async () => {
    const rt = new FakeRuntime();
    const lab = await Lab.fromTopology(twoNets).start({ runtime: rt, images });
    expect(rt.events).toContain('connect router acklab-two.right as router');
    expect(rt.events).toContain('network+ acklab-two.right 10.99.0.0/24');
    expect(Object.keys(lab.node('router').addresses).sort()).toEqual(['left', 'right']);
    expect(Object.keys(lab.node('a').addresses)).toEqual(['left']);
  });

  it('picks free subnets around existing Docker networks', async () => {
    const rt = new FakeRuntime({ existingNetworks: { other: '10.210.0.0/23' } });
    await Lab.fromTopology(pair).start({ runtime: rt, images, random: () => 0 });
    expect(rt.events).toContain('network+ acklab-pair.net 10.210.2.0/24');
  });

  it('a subnet another process took meanwhile is chosen again, and the one the engine gave is read back', async () => {
    const rt = new FakeRuntime({ overlaps: 2 });
    let r = 0;
    const lab = await Lab.fromTopology(pair).start({ runtime: rt, images, random: () => [0, 0.5, 0.75][r++]! });
    expect(rt.events.filter((e) => e.startsWith('network'))).toEqual([
      'network! acklab-pair.net 10.210.0.0/24',
      'network! acklab-pair.net 10.230.0.0/24',
      'network+ acklab-pair.net 10.240.0.0/24',
    ]);
    expect(lab.networks[0]!.subnet).toBe('10.240.0.0/24');
  });

  it('a user subnet taken meanwhile is a clear error, and nothing is left', async () => {
    const rt = new FakeRuntime({ overlaps: 1 });
    const fixed = parseTopology('name: fixed\nnetworks: { lan: { subnet: 10.99.0.0/24 } }\nnodes:\n  s: { kind: peer-server }\n');
    await expect(Lab.fromTopology(fixed).start({ runtime: rt, images })).rejects.toThrow(
      'lab "fixed": network "lan": subnet 10.99.0.0/24 was just taken by another Docker network; choose another subnet or omit it to let acklab pick one',
    );
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);
  });

  it('a user subnet overlapping an existing network is a clear error, before anything is created', async () => {
    const rt = new FakeRuntime({ existingNetworks: { 'corp-vpn': '10.99.0.0/16' } });
    await expect(Lab.fromTopology(twoNets).start({ runtime: rt, images })).rejects.toThrow(
      'network "right": subnet 10.99.0.0/24 overlaps the existing Docker network "corp-vpn" (10.99.0.0/16)',
    );
    expect(rt.containersById.size).toBe(0);
  });

  it('replaces a detached lab of the same name and owner (up twice)', async () => {
    const rt = new FakeRuntime();
    await (await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'old' })).detach();
    const lines: string[] = [];
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'new', onProgress: (l) => lines.push(l) });
    const runs = new Set([...rt.containersById.values()].map((c) => c.labels[LABELS.runId]));
    expect(runs).toEqual(new Set(['new']));
    expect([...rt.networksById.values()].map((n) => n.labels[LABELS.runId])).toEqual(['new']);
    expect(lines).toContain('replaced the running lab "pair" (run old: 4 containers, 1 networks)');
  });

  it('with replace: false, a detached lab of the same name is refused', async () => {
    const rt = new FakeRuntime();
    await (await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'old' })).detach();
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images, replace: false })).rejects.toThrow(
      'lab "pair" is already up (run old); `acklab down pair` first, or choose another lab name with --name',
    );
    expect(new Set([...rt.containersById.values()].map((c) => c.labels[LABELS.runId]))).toEqual(new Set(['old']));
  });

  it('never touches a lab held by a live process (not detached): the second start is refused and creates nothing', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'first' });
    const before = rt.events.length;
    const err = await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'second' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabBusyError);
    expect((err as Error).message).toMatch(/^lab "pair" is in use by acklab pid \d+ on .+ \(an `up` still starting, an experiment run or a test\); wait for it, or choose another lab name with --name$/);
    expect(rt.events.slice(before).filter((e) => /^(create|network\+|remove|network-)/.test(e))).toEqual([]);
  });

  it("never replaces another owner's lab, detached or not", async () => {
    const rt = new FakeRuntime();
    await (await Lab.fromTopology(pair).start({ runtime: rt, images, owner: 'bob@h' })).detach();
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images, owner: 'alice@h' })).rejects.toThrow(
      'lab "pair" is already running and belongs to bob@h (you are alice@h); choose another lab name with --name',
    );
    expect(new Set([...rt.containersById.values()].map((c) => c.labels[LABELS.owner]))).toEqual(new Set(['bob@h']));
  });

  it('a lab whose holder died before detaching is removed, and the name is taken', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'orphan' });
    // The same lab as a process that no longer exists would have left it (pid above pid_max).
    const dead = encodeHolder({ ...currentHolder(), pid: 4_194_305, start: '1' });
    for (const c of rt.containersById.values()) c.labels = { ...c.labels, [LABELS.holder]: dead };
    const lines: string[] = [];
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'next', onProgress: (l) => lines.push(l) });
    expect(new Set([...rt.containersById.values()].map((c) => c.labels[LABELS.runId]))).toEqual(new Set(['next']));
    expect(lines).toContain('removed the leftovers of lab "pair" (its acklab pid 4194305 on ' + currentHolder().host + ' died: 3 containers, 1 networks)');
  });

  it('one topology runs as two labs side by side under two names', async () => {
    const rt = new FakeRuntime();
    const a = await Lab.fromTopology(pair).start({ runtime: rt, images, name: 'pair-a' });
    const b = await Lab.fromTopology(pair).start({ runtime: rt, images, name: 'pair-b' });
    expect([a.name, b.name]).toEqual(['pair-a', 'pair-b']);
    expect(a.node('server').containerName).toBe('acklab-pair-a.server');
    expect(b.node('server').containerName).toBe('acklab-pair-b.server');
    for (const lab of ['pair-a', 'pair-b']) {
      const nodes = await rt.containers.list(labelFilter({ lab, role: 'node' }));
      expect(nodes.map((c) => c.labels[LABELS.topology])).toEqual(['pair', 'pair']);
    }
    await a.stop();
    expect((await rt.containers.list(labelFilter({ lab: 'pair-b' }))).length).toBe(3);
  });

  it('refuses more nodes than the ceiling, and a bad instance name, before anything is created', async () => {
    const rt = new FakeRuntime();
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images, maxNodes: 1 })).rejects.toThrow(
      'lab "pair" has 2 nodes; acklab starts at most 1 nodes in one lab (maxNodes / --max-nodes raises it)',
    );
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images, name: 'Pair_2' })).rejects.toThrow(/^lab name: "Pair_2" is not a valid name/);
    expect(rt.events).toEqual([]);
  });

  it('a node that never becomes ready fails with its last log lines and leaves nothing behind', async () => {
    const rt = new FakeRuntime({ neverReady: new Set(['server']) });
    const err = await Lab.fromTopology(pair).start({ runtime: rt, images, readyTimeoutMs: 250 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadinessError);
    expect((err as Error).message).toMatch(/node "server" was not ready after 250ms \(waiting for port 8888 to listen\); its last log lines:\n {4}hello from server\n {4}last line of server/);
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);
    expect(rt.events).not.toContain('start client');
  });

  it('a node that exits before it is ready fails at once', async () => {
    const rt = new FakeRuntime({ crash: new Set(['server']) });
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images })).rejects.toThrow('node "server" exited with status 3 before it was ready');
    expect(rt.containersById.size).toBe(0);
  });

  it('an abort while waiting removes everything that was created', async () => {
    const rt = new FakeRuntime({ neverReady: new Set(['server']) });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error('interrupted')), 150);
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images, signal: abort.signal })).rejects.toThrow('interrupted');
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);
  });

  it('a missing local image of a custom node is reported before anything is created', async () => {
    const rt = new FakeRuntime({ missingImages: new Set(['missing:latest']) });
    const t = parseTopology('name: c\nnodes:\n  x: { kind: custom, args: { image: "missing:latest" } }\n');
    await expect(Lab.fromTopology(t).start({ runtime: rt, images })).rejects.toThrow('node "x": image "missing:latest" is not on this Docker engine');
    expect(rt.events).toEqual([]);
  });

  it("builds the topology's build contexts before anything is created, and runs the nodes on them", async () => {
    const rt = new FakeRuntime({ absentUntilBuilt: /^acklab\/build-/ });
    const t = parseTopology(`name: s\nnodes:\n  ts: { kind: twisted-peer-server }\n  tc: { kind: twisted-peer-client, args: { server: ts } }\n`);
    await Lab.fromTopology(t).start({ runtime: rt, images });
    const first = rt.events.findIndex((e) => !e.startsWith('build '));
    expect(rt.events.slice(0, first)).toEqual([expect.stringMatching(/^build acklab\/build-twisted:[0-9a-f]{12}$/)]);
    expect(rt.builds[0]!.buildArgs.ACKLAB_BASE).toBeDefined();
    const nodes = [...rt.containersById.values()].filter((c) => c.labels[LABELS.role] === 'node');
    expect(nodes).toHaveLength(2);
    for (const c of nodes) expect(c.image).toBe(rt.builds[0]!.tag);
  });

  it('a failed build creates nothing and names the topology line', async () => {
    const rt = new FakeRuntime({ absentUntilBuilt: /^acklab\/build-/, failBuild: () => 'The command returned a non-zero code: 100' });
    const t = parseTopology(`name: s\nnodes:\n  m1: { kind: mcast-impl, build: lab/examples/mcast-python }\n  m2: { kind: mcast-impl, build: lab/examples/mcast-python }\n`, 'here.yaml');
    await expect(Lab.fromTopology(t).start({ runtime: rt, images })).rejects.toThrow(
      /^here\.yaml:3:34 \(nodes\.m1\.build\): image "mcast-python" \(build: .*lab\/examples\/mcast-python\): The command returned a non-zero code: 100$/,
    );
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);
    expect(rt.events.filter((e) => !e.startsWith('build '))).toEqual([]);
  });

  it('start steps see every node with its container id and addresses, and the links', async () => {
    const rt = new FakeRuntime();
    const t = parseTopology(`
name: pair
nodes:
  client: { kind: peer-client, args: { server: server } }
  server: { kind: peer-server }
links:
  - { from: client, to: server, delay: 50ms }
`);
    let seen: StartedLab | undefined;
    const lab = await Lab.fromTopology(t).start({
      runtime: rt,
      images,
      steps: [{ name: 'probe', run: async (l) => void (seen = l) }],
    });
    expect(seen).toBe(lab);
    expect(lab.links).toEqual([{ from: 'client', to: 'server', impairment: expect.objectContaining({ delayMs: 50, lossPct: 0 }), source: 'links[0]' }]);
    for (const n of lab.nodes) {
      expect(rt.containersById.has(n.containerId)).toBe(true);
      expect(n.addresses.net).toMatch(/^10\.0\.0\.\d+$/);
    }
  });

  it('a failing start step fails start and removes the lab', async () => {
    const rt = new FakeRuntime();
    const step = { name: 'conditions', run: async () => { throw new Error('tc failed'); } };
    await expect(Lab.fromTopology(pair).start({ runtime: rt, images, steps: [step] })).rejects.toThrow('tc failed');
    expect(rt.containersById.size).toBe(0);
  });

  it('stop() and await using remove the run; exec and logs reach the node', async () => {
    const rt = new FakeRuntime();
    {
      await using lab = await Lab.fromTopology(pair).start({ runtime: rt, images });
      expect((await lab.exec('server', ['echo', 'hi'])).stdout).toBe('server: echo hi');
      expect(await lab.logs('client')).toContain('hello from client');
      expect(() => lab.node('nobody')).toThrow('lab "pair" has no node "nobody"; nodes: client, server');
    }
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);
  });
});
