import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PREBUILT_BUNDLES, PROGRAMS, REPO_ROOT, agentBundle, bundleAgent, bundleEntry, bundlePrograms, programBundles } from '../../../src/images/index.js';

describe('bundleEntry', () => {
  it.each(PROGRAMS)('calls %s main with the arguments after the script name and maps errors to exit codes', (program) => {
    const entry = bundleEntry(program);
    expect(entry).toContain(`from './src/programs/${program}/main.ts'`);
    expect(entry).toContain('await main(process.argv.slice(2))');
    expect(entry).toContain('process.exitCode');
  });
});

describe('bundlePrograms', () => {
  it('makes one self-contained ESM file per program: a node shebang and only Node built-ins imported', async () => {
    const bundles = await bundlePrograms(REPO_ROOT);
    expect(bundles.map((b) => b.fileName)).toEqual(['echo.mjs', 'peer.mjs', 'mcast.mjs']);
    const builtins = new Set(builtinModules);
    for (const bundle of bundles) {
      expect(bundle.code.startsWith('#!/usr/bin/env node\n')).toBe(true);
      const imported = [...bundle.code.matchAll(/^\s*import\s[^'"]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1] as string);
      const external = imported.filter((spec) => !spec.startsWith('node:') && !builtins.has(spec));
      expect(external, `${bundle.fileName} imports packages that are not in the image`).toEqual([]);
      // No absolute paths of this checkout: the hash must not depend on where the repo lives.
      expect(bundle.code).not.toContain(REPO_ROOT);
    }
  });

  it('is deterministic, so the content hash only moves when the code does', async () => {
    const [a, b] = await Promise.all([bundlePrograms(REPO_ROOT), bundlePrograms(REPO_ROOT)]);
    expect(a.map((x) => x.code)).toEqual(b.map((x) => x.code));
  });
});

describe('programBundles', () => {
  it('in an installed package (no sources) reads the programs\' and the agent\'s bundles the package shipped, byte for byte', async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const root = await mkdtemp(join(tmpdir(), 'acklab-pkg-'));
    try {
      const built = await bundlePrograms(REPO_ROOT);
      const agent = await bundleAgent(REPO_ROOT);
      await mkdir(join(root, PREBUILT_BUNDLES), { recursive: true });
      for (const b of [...built, agent]) await writeFile(join(root, PREBUILT_BUNDLES, b.fileName), b.code);
      expect(await programBundles(root)).toEqual(built);
      expect(await agentBundle(root)).toEqual(agent);
      await rm(join(root, PREBUILT_BUNDLES, 'peer.mjs'));
      await expect(programBundles(root)).rejects.toThrow(/packaged bundle .*peer\.mjs are there: reinstall acklab/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
