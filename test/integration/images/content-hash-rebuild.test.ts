/**
 * Content-hash tagging against the real engine: with nothing changed ensureImages builds nothing
 * and is fast; a changed program source gives the node image a new tag (and only it), which is
 * built and runs the changed code. The altered sources live in a temporary copy of the repo.
 */
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BOOTSTRAP_BASE, buildImages } from '../../../src/images/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';
import { buildTestImage, cleanupSession, newSession, runToCompletion } from './containers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const images = inject('images');
const session = newSession('rebuild');
const madeTags: string[] = [];
let copy: string | undefined;

afterAll(async () => {
  await cleanupSession(session);
  // Only the tags this file built from altered sources; never the shared ones.
  for (const tag of madeTags) if (tag !== images.node && tag !== images.shaper) await dockerRuntime().images.remove(tag).catch(() => undefined);
  if (copy) await rm(copy, { recursive: true, force: true });
});

describe('ensureImages content hash', () => {
  it('builds nothing when nothing changed, within 3 s', async () => {
    const lines: string[] = [];
    const started = performance.now();
    const results = await buildImages({ log: (l) => lines.push(l) });
    const seconds = (performance.now() - started) / 1000;
    expect(results.node.tag).toBe(images.node);
    expect(results.shaper.tag).toBe(images.shaper);
    expect(results.node.built || results.shaper.built).toBe(false);
    expect(lines.some((l) => l.startsWith('building'))).toBe(false);
    expect(seconds).toBeLessThan(3);
  });

  it('rebuilds only the node image when a program source changes, and the image runs the new code', async () => {
    copy = await mkdtemp(path.join(os.tmpdir(), 'acklab-test-images-src-'));
    await cp(path.join(ROOT, 'src'), path.join(copy, 'src'), { recursive: true });
    await cp(path.join(ROOT, 'docker'), path.join(copy, 'docker'), { recursive: true });
    await symlink(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    const echoMain = path.join(copy, 'src/programs/echo/main.ts');
    const marker = `acklab-rebuild-marker-${session.id}`;
    await writeFile(echoMain, `${await readFile(echoMain, 'utf8')}\nconsole.error(${JSON.stringify(marker)});\n`);

    const results = await buildImages({ repoRoot: copy, tagLatest: false, log: () => undefined });
    madeTags.push(results.node.tag, results.shaper.tag);
    expect(results.node.tag).not.toBe(images.node);
    expect(results.node.built).toBe(true);
    expect(results.shaper.tag).toBe(images.shaper);
    expect(results.shaper.built).toBe(false);

    const run = await runToCompletion(session, results.node.tag, ['acklab-echo', '--port', 'x']);
    expect(run.stderr).toContain(marker);
  });
});

describe('ensureImages with a requested base', () => {
  it('uses a base that already has Node as it is (no apt-get in the build), and the programs run on it', async () => {
    // Stands in for node:20-bookworm-slim on a machine with a registry: Node present, no acklab user.
    const baseTag = `acklab-test-images/node-base:${session.id.split('-').pop()}`;
    madeTags.push(baseTag);
    await buildTestImage(session, baseTag, [
      `FROM ${BOOTSTRAP_BASE}`,
      'RUN apt-get update && apt-get install -y --no-install-recommends nodejs && rm -rf /var/lib/apt/lists/*',
    ]);
    const lines: string[] = [];
    const results = await buildImages({ baseImages: { node: baseTag }, tagLatest: false, verbose: true, log: (l) => lines.push(l) });
    madeTags.push(results.node.tag);
    expect(results.node.base.ref).toBe(baseTag);
    expect(results.node.tag).not.toBe(images.node);
    const nodeLines = lines.filter((l) => l.startsWith('[node]'));
    expect(nodeLines.some((l) => /^\[node\] v\d+\.\d+\.\d+$/.test(l))).toBe(true);
    expect(nodeLines.some((l) => /apt-get install|Reading package lists/.test(l) && !l.includes('Step '))).toBe(false);

    const run = await runToCompletion(session, results.node.tag, ['acklab-peer', 'client', '127.0.0.1:notaport']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/usage: acklab-peer/);
  });

  it('fails with the fix when a requested base is neither present nor pullable', async () => {
    await expect(buildImages({ baseImages: { shaper: 'acklab-test-images/absent:nope' }, tagLatest: false, log: () => undefined })).rejects.toThrow(
      /shaper base image acklab-test-images\/absent:nope is not present and cannot be pulled .*--base-image shaper=bootstrap/,
    );
  });
});
