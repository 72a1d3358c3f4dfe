/**
 * Build contexts against the real engine, offline (no registry): the seed's Twisted image builds
 * through a topology's `build:` from acklab's Debian base, is labelled with its content hash, runs
 * python3-twisted, and is not built again; a failing build names the topology line and the last
 * build output. The contexts are temporary copies under names of this test session, so every tag
 * this file makes is its own and is removed afterwards.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { buildKey, ensureTopologyImages, topologyBuilds, type BuiltImage } from '../../../src/images/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import { cleanupSession, newSession, runToCompletion } from './containers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const session = newSession('context');
const name = `it-seed-${session.id.slice(-8)}`;
const madeTags: string[] = [];
let dir: string | undefined;

afterAll(async () => {
  await cleanupSession(session);
  for (const tag of madeTags) await session.runtime.images.remove(tag).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('build: in a topology, on the real engine', () => {
  it("builds the seed's Twisted image offline from acklab's Debian base, labelled; it runs Twisted; a second time nothing is built", { timeout: 600_000 }, async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'acklab-test-context-'));
    // a copy with a marker: its own content hash, so this test really builds (apt from the Debian mirror, no registry)
    await cp(path.join(ROOT, 'docker/twisted'), path.join(dir, 'twisted'), { recursive: true });
    await writeFile(path.join(dir, 'twisted/marker.txt'), `${session.id}\n`);
    const file = path.join(dir, 'topo.yaml');
    const text = `name: ${name}
images:
  ${name}: { build: twisted }
nodes:
  ts: { kind: twisted-peer-server, image: ${name} }
  tc: { kind: twisted-peer-client, image: ${name}, args: { server: ts } }
`;
    await writeFile(file, text);
    const topology = parseTopology(text, file);
    const lines: string[] = [];
    const started = performance.now();
    // without the layer cache: apt-get install python3-twisted really runs, with no registry involved
    const built = await ensureTopologyImages(topology, { rebuild: true, log: (l) => lines.push(l) });
    const seconds = (performance.now() - started) / 1000;
    const image = built.get(buildKey(topologyBuilds(topology)[0]!)) as BuiltImage;
    madeTags.push(image.tag, `acklab/build-${name}:latest`);
    console.log(`built ${image.tag} in ${seconds.toFixed(1)} s (${(image.sizeBytes / 1e6).toFixed(0)} MB) from ${image.base.ref}`);
    expect(image).toMatchObject({ name, built: true });
    expect(image.tag).toBe(`acklab/build-${name}:${image.hash}`);
    expect(lines.some((l) => l.startsWith(`building ${image.tag} from ${path.join(dir!, 'twisted')} (ACKLAB_BASE=`))).toBe(true);
    expect(image.base.ref).toMatch(/^(acklab\/base-debian:bookworm|debian:bookworm-slim)$/);

    const info = await session.runtime.images.inspect(image.tag);
    expect(info?.labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.role]: 'image', [LABELS.contentHash]: image.hash });
    expect(info?.cmd).toEqual(['python3', '-u', '/opt/seed/echo_server.py']);
    const run = await runToCompletion(session, image.tag, ['python3', '-c', 'import os, twisted; print("twisted", twisted.__version__, os.getuid())']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^twisted \d+\.\d+\.\d+ 10001$/m);

    const again = await ensureTopologyImages(topology, { log: () => undefined });
    expect(again.get(image.key)).toMatchObject({ tag: image.tag, built: false });
  });

  it('a failing build names the topology line that asked for it and shows the last build output', { timeout: 120_000 }, async () => {
    dir ??= await mkdtemp(path.join(os.tmpdir(), 'acklab-test-context-'));
    const broken = path.join(dir, 'broken');
    await cp(path.join(ROOT, 'lab/examples/mcast-python'), broken, { recursive: true });
    await writeFile(path.join(broken, 'Dockerfile'), `ARG ACKLAB_BASE\nFROM \${ACKLAB_BASE}\nRUN echo "about to fail ${session.id}" && false\n`);
    const file = path.join(dir, 'broken.yaml');
    const text = `name: ${name}-b\nnodes:\n  m1: { kind: mcast-impl, build: broken }\n  m2: { kind: mcast-impl, build: broken }\n`;
    const err = await ensureTopologyImages(parseTopology(text, file), { log: () => undefined }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:34 \\(nodes\\.m1\\.build\\): image "broken" \\(build: .*broken\\): building acklab/build-broken:[0-9a-f]{12} failed`));
    expect(message).toContain('last build output:');
    expect(message).toContain(`about to fail ${session.id}`);
  });
});
