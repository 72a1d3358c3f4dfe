import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';
import { PROGRAMS, REPO_ROOT, bundleEntry, bundlePrograms } from '../../../src/images/index.js';

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
