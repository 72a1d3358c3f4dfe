import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { Lab, ReadinessError, type StartedLab } from '../../../src/lab/index.js';
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

  it('labels every container and network with lab, run id, node and role', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'r1' });
    for (const c of rt.containersById.values()) {
      expect(c.labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.lab]: 'pair', [LABELS.runId]: 'r1', [LABELS.role]: 'node', [LABELS.node]: c.spec.hostname });
      expect(c.image).toBe('acklab/node:test');
      expect(c.name).toBe(`acklab-pair-${c.spec.hostname}`);
    }
    const nets = [...rt.networksById.values()];
    expect(nets).toHaveLength(1);
    expect(nets[0]!.labels).toMatchObject({ [LABELS.lab]: 'pair', [LABELS.runId]: 'r1', [LABELS.role]: 'network' });
  });

  it('joins a node to every network it lists, with its name as DNS alias; keeps user subnets', async () => {
    const rt = new FakeRuntime();
    const lab = await Lab.fromTopology(twoNets).start({ runtime: rt, images });
    expect(rt.events).toContain('connect router acklab-two-right as router');
    expect(rt.events).toContain('network+ acklab-two-right 10.99.0.0/24');
    expect(Object.keys(lab.node('router').addresses).sort()).toEqual(['left', 'right']);
    expect(Object.keys(lab.node('a').addresses)).toEqual(['left']);
  });

  it('picks free subnets around existing Docker networks', async () => {
    const rt = new FakeRuntime({ existingNetworks: { other: '10.210.0.0/23' } });
    await Lab.fromTopology(pair).start({ runtime: rt, images });
    expect(rt.events).toContain('network+ acklab-pair-net 10.210.2.0/24');
  });

  it('a user subnet overlapping an existing network is a clear error, before anything is created', async () => {
    const rt = new FakeRuntime({ existingNetworks: { 'corp-vpn': '10.99.0.0/16' } });
    await expect(Lab.fromTopology(twoNets).start({ runtime: rt, images })).rejects.toThrow(
      'network "right": subnet 10.99.0.0/24 overlaps the existing Docker network "corp-vpn" (10.99.0.0/16)',
    );
    expect(rt.containersById.size).toBe(0);
  });

  it('replaces a running lab of the same name', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'old' });
    await Lab.fromTopology(pair).start({ runtime: rt, images, runId: 'new' });
    const runs = new Set([...rt.containersById.values()].map((c) => c.labels[LABELS.runId]));
    expect(runs).toEqual(new Set(['new']));
    expect([...rt.networksById.values()].map((n) => n.labels[LABELS.runId])).toEqual(['new']);
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
    for (const c of rt.containersById.values()) expect(c.image).toBe(rt.builds[0]!.tag);
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
