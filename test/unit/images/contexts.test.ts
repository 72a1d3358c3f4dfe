/**
 * Images from build contexts: what goes into the context (.dockerignore), the content hash (context
 * files, build arguments, base images), the FROM check that keeps the engine away from registries,
 * and building through the runtime's ImageClient only when the tag is missing.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import {
  BOOTSTRAP_BASE,
  buildKey,
  contentHash,
  dockerfileFroms,
  ensureBuiltImages,
  isIgnored,
  parseDockerignore,
  pruneImages,
  readBuildContext,
  topologyBuilds,
} from '../../../src/images/index.js';
import { parseTopology, type BuildImageSpec } from '../../../src/topology/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'acklab-test-contexts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A fresh context folder with these files. */
function context(files: Record<string, string>): string {
  const dir = path.join(tmp, `ctx${++n}`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const DOCKERFILE = 'ARG ACKLAB_BASE\nFROM ${ACKLAB_BASE}\nCOPY app.py /opt/app.py\n';
const spec = (dir: string, extra: Partial<BuildImageSpec> = {}): BuildImageSpec => ({ type: 'build', name: 'app', context: dir, buildArgs: {}, origin: 'topo.yaml:5:12 (nodes.m1.build)', ...extra });
/** The bootstrapped base is on the engine; built images appear when built. */
const runtime = (extra: ConstructorParameters<typeof FakeRuntime>[0] = {}) =>
  new FakeRuntime({ absentUntilBuilt: /^acklab\/build-/, missingImages: new Set(['debian:bookworm-slim', 'node:20-bookworm-slim']), ...extra });
const quiet = () => {};

describe('.dockerignore', () => {
  it.each([
    ['*.pyc', 'a.pyc', true],
    ['*.pyc', 'sub/a.pyc', false],
    ['**/*.pyc', 'sub/deep/a.pyc', true],
    ['__pycache__', '__pycache__/x.pyc', true],
    ['/build/', 'build/out.o', true],
    ['docs', 'docsx/readme', false],
    ['?.txt', 'a.txt', true],
    ['[ab].txt', 'c.txt', false],
  ])('%s on %s → ignored %s', (pattern, file, ignored) => {
    expect(isIgnored(parseDockerignore(pattern), file)).toBe(ignored);
  });

  it('the last matching pattern wins: "!" re-includes; comments and blank lines are skipped', () => {
    const p = parseDockerignore('# caches\n\nlogs\n!logs/keep.txt\n');
    expect(isIgnored(p, 'logs/a.txt')).toBe(true);
    expect(isIgnored(p, 'logs/keep.txt')).toBe(false);
  });
});

describe('readBuildContext', () => {
  it('holds every file not ignored, the Dockerfile always, with their modes; sorted', async () => {
    const dir = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)', 'lib/util.py': 'x = 1', '.dockerignore': 'Dockerfile\n*.log\n', 'run.log': 'noise' });
    chmodSync(path.join(dir, 'app.py'), 0o755);
    const files = await readBuildContext(dir);
    expect(files.map((f) => f.path)).toEqual(['.dockerignore', 'Dockerfile', 'app.py', 'lib/util.py']);
    expect(files.find((f) => f.path === 'app.py')!.mode & 0o111).not.toBe(0);
  });
});

describe('the content hash of a build context', () => {
  const inputs = async (dir: string, buildArgs: Record<string, string> = { ACKLAB_BASE: BOOTSTRAP_BASE }, base = 'sha256:base1') => ({
    files: await readBuildContext(dir),
    buildArgs,
    baseImageId: base,
  });

  it('is the same for the same files, build arguments and base; changes with any of them', async () => {
    const a = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)' });
    const same = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)' });
    const edited = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(2)' });
    const ignoredOnly = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)', '.dockerignore': '*.log\n', 'x.log': 'x' });
    const ignoredOnly2 = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)', '.dockerignore': '*.log\n', 'x.log': 'other' });
    const h = contentHash(await inputs(a));
    expect(h).toMatch(/^[0-9a-f]{12}$/);
    expect(contentHash(await inputs(same))).toBe(h);
    expect(contentHash(await inputs(edited))).not.toBe(h);
    expect(contentHash(await inputs(a, { ACKLAB_BASE: BOOTSTRAP_BASE, VERSION: '2' }))).not.toBe(h);
    expect(contentHash(await inputs(a, undefined, 'sha256:base2'))).not.toBe(h);
    // what .dockerignore leaves out is not in the image, so it does not change the tag
    expect(contentHash(await inputs(ignoredOnly2))).toBe(contentHash(await inputs(ignoredOnly)));
  });
});

describe('dockerfileFroms', () => {
  it('substitutes build arguments and ARG defaults; stages and scratch need no image; lines are 1-based', () => {
    const text = 'ARG ACKLAB_BASE\nARG TOOLS=debian:bookworm-slim\n# FROM commented\nFROM ${TOOLS} AS tools\nFROM \\\n  ${ACKLAB_BASE}\nCOPY --from=tools /x /x\nFROM tools\nFROM scratch\nFROM $MISSING\n';
    expect(dockerfileFroms(text, { ACKLAB_BASE: 'acklab/base-debian:bookworm' })).toEqual([
      { line: 4, text: 'FROM ${TOOLS} AS tools', ref: 'debian:bookworm-slim', needsImage: true },
      { line: 5, text: "FROM ${ACKLAB_BASE}", ref: 'acklab/base-debian:bookworm', needsImage: true },
      { line: 8, text: 'FROM tools', ref: 'tools', needsImage: false },
      { line: 9, text: 'FROM scratch', ref: 'scratch', needsImage: false },
      { line: 10, text: 'FROM $MISSING', ref: undefined, needsImage: true },
    ]);
  });
});

describe('ensureBuiltImages', () => {
  it('builds a missing image from acklab\'s Debian base (ACKLAB_BASE), labelled with its hash; the second time nothing is built', async () => {
    const rt = runtime();
    const dir = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)' });
    const first = await ensureBuiltImages([spec(dir)], { runtime: rt, log: quiet });
    const built = first.get(buildKey(spec(dir)))!;
    expect(built).toMatchObject({ name: 'app', built: true, base: { ref: BOOTSTRAP_BASE } });
    expect(built.tag).toBe(`acklab/build-app:${built.hash}`);
    expect(rt.builds).toHaveLength(1);
    expect(rt.builds[0]!).toMatchObject({ tag: built.tag, buildArgs: { ACKLAB_BASE: BOOTSTRAP_BASE } });
    expect(rt.builds[0]!.labels).toMatchObject({ [LABELS.managed]: 'true', [LABELS.role]: 'image', [LABELS.contentHash]: built.hash });
    expect(rt.madeImages.has('acklab/build-app:latest')).toBe(true);

    const again = await ensureBuiltImages([spec(dir)], { runtime: rt, log: quiet });
    expect(again.get(buildKey(spec(dir)))).toMatchObject({ tag: built.tag, built: false });
    expect(rt.builds).toHaveLength(1);
  });

  it('one build per context and arguments, however many nodes use it', async () => {
    const rt = runtime();
    const dir = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)' });
    const file = path.join(dir, 'topo.yaml');
    writeFileSync(path.join(dir, 'topo.yaml'), '');
    const t = parseTopology(`name: g\nimages: { impl: { build: . } }\nnodes:\n  a: { kind: mcast-impl, image: impl }\n  b: { kind: mcast-impl, image: impl }\n  c: { kind: mcast-impl, build: . }\n`, file);
    const specs = topologyBuilds(t);
    expect(specs).toHaveLength(1);
    await ensureBuiltImages(specs, { runtime: rt, log: quiet });
    expect(rt.builds).toHaveLength(1);
  });

  it('a FROM of an image the engine does not have fails before building, naming the topology line and the Dockerfile line', async () => {
    const rt = runtime({ missingImages: new Set(['debian:bookworm-slim', 'node:20-bookworm-slim', 'python:3.12']) });
    const dir = context({ Dockerfile: 'FROM python:3.12\nCOPY app.py /app.py\n', 'app.py': '' });
    await expect(ensureBuiltImages([spec(dir)], { runtime: rt, log: quiet })).rejects.toThrow(
      `topo.yaml:5:12 (nodes.m1.build): image "app" (build: ${dir}): Dockerfile:1: "FROM python:3.12": image python:3.12 is not on this Docker engine, and acklab pulls nothing; build FROM acklab's Debian base: ARG ACKLAB_BASE and FROM \${ACKLAB_BASE}`,
    );
    expect(rt.builds).toHaveLength(0);
  });

  it('a failed build names the topology line that asked for it and keeps the engine\'s words', async () => {
    const rt = runtime({ failBuild: () => "building acklab/build-app:x failed: The command '/bin/sh -c false' returned a non-zero code: 1\nlast build output:\nStep 3/3 : RUN false" });
    const dir = context({ Dockerfile: `${DOCKERFILE}RUN false\n`, 'app.py': '' });
    const err = await ensureBuiltImages([spec(dir)], { runtime: rt, log: quiet }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^topo\.yaml:5:12 \(nodes\.m1\.build\): image "app" \(build: .*\): building acklab\/build-app:x failed: The command/);
    expect((err as Error).message).toContain('last build output:\nStep 3/3 : RUN false');
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('acklab images --prune removes older builds of a context, keeping the newest (latest) and what it is told to keep', async () => {
    const rt = runtime();
    const dir = context({ Dockerfile: DOCKERFILE, 'app.py': 'print(1)' });
    const old = [...(await ensureBuiltImages([spec(dir)], { runtime: rt, log: quiet })).values()][0]!;
    writeFileSync(path.join(dir, 'app.py'), 'print(2)');
    const current = [...(await ensureBuiltImages([spec(dir)], { runtime: rt, log: quiet })).values()][0]!;
    expect(current.tag).not.toBe(old.tag);
    const removed = await pruneImages([], { runtime: rt, log: quiet });
    expect(removed).toEqual([old.tag]);
    expect(rt.madeImages.has(current.tag)).toBe(true);
    expect(rt.madeImages.has('acklab/build-app:latest')).toBe(true);
  });
});
