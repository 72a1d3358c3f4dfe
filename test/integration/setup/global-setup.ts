/**
 * Integration global setup: makes sure an engine answers (scripts/ensure-engine.sh) and the images
 * are built for the current sources (ensureImages, a no-op in ~0.5 s when nothing changed), once
 * per run; tests read the tags with `inject('images')` and never build themselves.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { TestProject } from 'vitest/node';
import { ensureImages, type ImageTags } from '../../../src/images/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    images: ImageTags;
  }
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export default async function setup(project: TestProject): Promise<void> {
  // No registry: Ryuk's image cannot be pulled; tests clean up by label instead.
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  await execa(path.join(ROOT, 'scripts/ensure-engine.sh'), { stdio: ['ignore', 'inherit', 'inherit'] });
  const images = await ensureImages({ log: (line) => process.stderr.write(`acklab images: ${line}\n`) });
  project.provide('images', images);
}
