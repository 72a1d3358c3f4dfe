/**
 * Build contexts in topologies (`build:` on a node, named `images:`), the seed's kinds and the grading
 * contract's mcast-impl kind: parsed, resolved relative to the topology file, and every mistake
 * reported at its file:line:column.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIssue, parseTopology, SEED_IMAGE, TopologyError, type Topology } from '../../../src/topology/index.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'acklab-test-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// <dir>/lab/topo.yaml next to <dir>/impl/Dockerfile, <dir>/empty/ (no Dockerfile) and <dir>/file.txt
mkdirSync(path.join(dir, 'lab'));
mkdirSync(path.join(dir, 'impl'));
mkdirSync(path.join(dir, 'empty'));
writeFileSync(path.join(dir, 'impl/Dockerfile'), 'ARG ACKLAB_BASE\nFROM ${ACKLAB_BASE}\n');
writeFileSync(path.join(dir, 'file.txt'), 'x');
const FILE = path.join(dir, 'lab/topo.yaml');

const node = (t: Topology, name: string) => t.nodes.find((n) => n.name === name)!;

function problems(text: string): string[] {
  try {
    parseTopology(text, FILE);
  } catch (err) {
    if (err instanceof TopologyError) return err.issues.map(formatIssue).map((m) => m.replace(`${FILE}:`, 'topo.yaml:'));
    throw err;
  }
  return [];
}

describe('build: and images:', () => {
  it("a node's build: is a folder relative to the topology file; the image is named after the folder", () => {
    const t = parseTopology(
      `name: b
nodes:
  m1: { kind: mcast-impl, build: ../impl }
  m2: { kind: mcast-impl, build: ../impl }
`,
      FILE,
    );
    expect(node(t, 'm1').image).toEqual({ type: 'build', name: 'impl', context: path.join(dir, 'impl'), buildArgs: {}, origin: `${FILE}:3:34 (nodes.m1.build)` });
    expect(node(t, 'm2').image).toMatchObject({ type: 'build', context: path.join(dir, 'impl'), origin: `${FILE}:4:34 (nodes.m2.build)` });
  });

  it('named images: with build arguments, used by nodes as image: NAME; any other image: is a local reference', () => {
    const t = parseTopology(
      `name: b
images:
  seed: { build: ../impl, args: { VERSION: 3, DEBUG: true } }
  short: ../impl
nodes:
  s: { kind: twisted-peer-server, image: seed }
  c: { kind: twisted-peer-client, image: short, args: { server: s } }
  x: { kind: custom, image: alpine:3.20, args: { command: "true" } }
`,
      FILE,
    );
    expect(node(t, 's').image).toEqual({ type: 'build', name: 'seed', context: path.join(dir, 'impl'), buildArgs: { VERSION: '3', DEBUG: 'true' }, origin: `${FILE}:3:18 (images.seed.build)` });
    expect(node(t, 'c').image).toMatchObject({ type: 'build', name: 'short', origin: `${FILE}:4:10 (images.short)` });
    expect(node(t, 'x').image).toEqual({ type: 'local', ref: 'alpine:3.20' });
  });

  it('the seed kinds default to acklab\'s docker/twisted; the server is wired on 8888 whatever port it is given', () => {
    const t = parseTopology(`name: seed
nodes:
  ts: { kind: twisted-peer-server, args: { port: 9999 } }
  tc: { kind: twisted-peer-client, args: { server: ts, interval: 200ms } }
  as: { kind: peer-server, args: { port: 7000 } }
  ac: { kind: peer-client, args: { server: ts } }
  tc2: { kind: twisted-peer-client, args: { server: as } }
  te: { kind: twisted-echo }
`);
    expect(SEED_IMAGE.context).toBe(path.join(ROOT, 'docker/twisted'));
    expect(node(t, 'ts').image).toEqual(SEED_IMAGE);
    // the seed is given 9999 (it prints it) and listens on 8888: readiness and clients use 8888
    expect(node(t, 'ts').command).toEqual(['python3', '-u', '/opt/seed/peer.py', 'server', '0.0.0.0:9999']);
    expect(node(t, 'ts').ready).toMatchObject({ type: 'port', port: 8888 });
    expect(node(t, 'tc').command).toEqual(['python3', '-u', '/opt/seed/peer.py', 'client', 'ts:8888']);
    expect(node(t, 'tc').env).toEqual({ PEER_INTERVAL: '0.2' });
    expect(node(t, 'tc').dependsOn).toEqual(['ts']);
    expect(node(t, 'tc').gate).toBe(true);
    expect(node(t, 'ac').command.slice(0, 3)).toEqual(['acklab-peer', 'client', 'ts:8888']);
    expect(node(t, 'tc2').command.at(-1)).toBe('as:7000');
    expect(node(t, 'te')).toMatchObject({ command: ['python3', '-u', '/opt/seed/echo_server.py'], ports: [8881] });
  });

  it('mcast-impl: ids in file order, peers as id@name:port, the contract in ACKLAB_* variables', () => {
    const t = parseTopology(
      `name: g
images: { impl: { build: ../impl } }
defaults:
  args:
    mcast-impl: { count: 7, interval: 150ms }
nodes:
  a: { kind: mcast-impl, image: impl, args: { port: 9100 } }
  b: { kind: mcast-impl, image: impl, args: { id: 1, duration: 20s } }
  c: { kind: mcast-impl, image: impl, args: { command: [python3, my.py], gate: false } }
`,
      FILE,
    );
    expect(node(t, 'a').env).toEqual({
      ACKLAB_ID: '2',
      ACKLAB_LISTEN_PORT: '9100',
      ACKLAB_PEERS: '1@b:9000,3@c:9000',
      ACKLAB_COUNT: '7',
      ACKLAB_INTERVAL_MS: '150',
      ACKLAB_OUT: '/tmp/acklab-delivered.jsonl',
      ACKLAB_EVENTS: '/tmp/acklab-events.ndjson',
    });
    expect(node(t, 'b').env).toMatchObject({ ACKLAB_ID: '1', ACKLAB_PEERS: '2@a:9100,3@c:9000', ACKLAB_DURATION_MS: '20000' });
    expect(node(t, 'a')).toMatchObject({ command: [], role: 'mesh', group: 'mcast-impl', gate: true, ready: { type: 'port', port: 9100 } });
    expect(node(t, 'c')).toMatchObject({ command: ['python3', 'my.py'], gate: false });
    expect(t.stages).toEqual([['a', 'b', 'c']]);
  });

  it('reports every mistake at its position: missing folder, a file, no Dockerfile, both fields, a kind that runs acklab\'s image', () => {
    expect(
      problems(`name: b
images:
  gone: { build: ../nowhere }
  afile: { build: ../file.txt }
  nodf: { build: ../empty }
nodes:
  s: { kind: twisted-peer-server, build: ../impl, image: gone }
  e: { kind: echo, image: alpine:3.20 }
  m: { kind: mcast-impl }
  n: { kind: mcast-impl, build: ../impl }
`),
    ).toEqual([
      `topo.yaml:3:18: images.gone.build: no folder ${path.join(dir, 'nowhere')} (a build context is relative to the topology file's folder)`,
      `topo.yaml:4:19: images.afile.build: ${path.join(dir, 'file.txt')} is a file; a build context is a folder holding a Dockerfile`,
      `topo.yaml:5:18: images.nodf.build: ${path.join(dir, 'empty')} has no Dockerfile`,
      'topo.yaml:7:58: nodes.s.image: give either build: (a folder acklab builds) or image: (a name under images:, or a local image), not both',
      "topo.yaml:8:27: nodes.e.image: image: is for kinds that run an image of yours (custom, twisted-peer-server, twisted-peer-client, twisted-echo, mcast-impl); kind echo runs acklab's own program on acklab's node image",
      'topo.yaml:9:6: nodes.m: an mcast-impl node runs your implementation: say build: DIR (a folder with a Dockerfile) or image: NAME',
    ]);
  });

  it('mcast-impl members: one group per lab, the same count everywhere, at least two', () => {
    expect(
      problems(`name: g
nodes:
  a: { kind: mcast-impl, image: x, args: { count: 5 } }
  p: { kind: mcast }
  q: { kind: mcast }
`),
    ).toEqual([
      'topo.yaml:3:6: nodes.a: an mcast-impl group needs at least two members',
      'topo.yaml:3:14: nodes.a.kind: a lab runs one multicast group: mcast nodes (p, q) or mcast-impl members, not both',
    ]);
    expect(
      problems(`name: g
nodes:
  a: { kind: mcast-impl, image: x }
  b: { kind: mcast-impl, image: x, args: { count: 3 } }
`),
    ).toEqual(['topo.yaml:4:51: nodes.b.args.count: every mcast-impl member multicasts the same count (ACKLAB_COUNT): "a" has 10, "b" has 3; set it once in defaults.args.mcast-impl']);
  });
});
