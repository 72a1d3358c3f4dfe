/** Shared helpers for the lab integration tests: images, temp topology copies, label counts. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { ensureImages, type ImageTags } from '../../../src/images/index.js';
import { removeLab } from '../../../src/lab/index.js';
import { labelFilter } from '../../../src/common/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';

export const ROOT = join(import.meta.dirname, '../../..');

/** This test process's suffix: another `make test` on the same engine uses other lab names. */
export const SESSION = randomBytes(2).toString('hex');

/** A lab name of this test session (`itest-pair` → `itest-pair-3fa1`). */
export const testLab = (base: string): string => `${base}-${SESSION}`;

/**
 * The owner of this session's labs, for the CLIs it starts too (they inherit the environment):
 * `ps` and `down --all` in these tests see only this session's labs, never another run's.
 */
export const OWNER = `itest-${SESSION}@${hostname()}`;
process.env.ACKLAB_OWNER = OWNER;
export const CLI = join(ROOT, 'bin/acklab.js');
export const runtime = dockerRuntime();

/** Images from the integration global setup when it provides them, else built/found here. */
export async function labImages(): Promise<ImageTags> {
  const provided = (inject as unknown as (k: string) => ImageTags | undefined)('images');
  return provided ?? ensureImages({ log: () => {} });
}

/** A copy of `yaml` (or of a lab/topologies file) renamed to a test lab, in a temp dir. */
export function topologyCopy(source: { file?: string; yaml?: string }, name: string): string {
  const text = source.yaml ?? readFileSync(join(ROOT, 'lab/topologies', source.file!), 'utf8');
  const renamed = text.replace(/^name: .*$/m, `name: ${name}`);
  const dir = mkdtempSync(join(tmpdir(), 'acklab-test-lab-'));
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, renamed);
  return file;
}

/** Containers and networks carrying the lab's labels. */
export async function countLab(lab: string): Promise<{ containers: number; networks: number }> {
  const labels = labelFilter({ lab });
  return { containers: (await runtime.containers.list(labels)).length, networks: (await runtime.networks.list(labels)).length };
}

/** Everything of this session's owner (every lab it started, by the owner label). */
export async function countOwned(owner = OWNER): Promise<{ containers: string[]; networks: string[] }> {
  const labels = labelFilter({ owner });
  return { containers: (await runtime.containers.list(labels)).map((c) => c.name), networks: (await runtime.networks.list(labels)).map((n) => n.name) };
}

export async function removeTestLabs(labs: string[]): Promise<void> {
  for (const lab of labs) await removeLab(runtime, lab);
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
