/**
 * Bundles each lab program (src/programs/<name>/main.ts, exporting `main(argv)`) into one ESM file
 * with esbuild, for the node image: no node_modules, no dev dependencies, Node 18 syntax (the
 * bootstrapped base has bookworm's nodejs).
 *
 * A checkout bundles its sources on every image build (so an edit is always what runs); the
 * installed package has no sources and no esbuild, and ships the same bundles made when it was
 * packed (`npm run build` writes them to dist/bundles/). Same sources, same bytes, same image tag.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError, errorMessage } from '../common/index.js';

export const PROGRAMS = ['echo', 'peer', 'mcast'] as const;
export type ProgramName = (typeof PROGRAMS)[number];

export interface ProgramBundle {
  program: ProgramName;
  /** File name in the node image's /opt/acklab (linked from /usr/local/bin/acklab-<program>). */
  fileName: string;
  code: string;
}

/** The shaper sidecar's agent (src/impair/agent), bundled the same way for the shaper image. */
export const AGENT_ENTRY = 'src/impair/agent/main.ts';

/** The entry each bundle starts from: runs `main`, turns a thrown error into `Error: …` and an exit code. */
export function bundleEntry(program: ProgramName | 'agent'): string {
  const source = program === 'agent' ? `./${AGENT_ENTRY}` : `./src/programs/${program}/main.ts`;
  return [
    `import { main } from '${source}';`,
    'try {',
    '  await main(process.argv.slice(2));',
    '} catch (err) {',
    "  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\\n`);",
    "  const code = err !== null && typeof err === 'object' ? err.exitCode : undefined;",
    "  process.exitCode = typeof code === 'number' && code > 0 ? code : 1;",
    '}',
    '',
  ].join('\n');
}

/** The agent, as one file for the shaper image. */
export async function bundleAgent(repoRoot: string): Promise<{ fileName: string; code: string }> {
  const [agent] = await bundle(repoRoot, ['agent']);
  return { fileName: 'agent.mjs', code: agent!.code };
}

export async function bundlePrograms(repoRoot: string): Promise<ProgramBundle[]> {
  return (await bundle(repoRoot, PROGRAMS)) as ProgramBundle[];
}

async function bundle(repoRoot: string, names: readonly (ProgramName | 'agent')[]): Promise<{ program: ProgramName | 'agent'; fileName: string; code: string }[]> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new AcklabError('esbuild is needed to bundle the lab programs: run `npm ci` in the acklab checkout', 1, { cause: err });
  }
  return Promise.all(
    names.map(async (program) => {
      try {
        const result = await esbuild.build({
          stdin: { contents: bundleEntry(program), resolveDir: repoRoot, sourcefile: `acklab-${program}.js`, loader: 'js' },
          bundle: true,
          platform: 'node',
          format: 'esm',
          target: 'node18',
          write: false,
          logLevel: 'silent',
          legalComments: 'none',
          banner: { js: '#!/usr/bin/env node' },
          absWorkingDir: repoRoot,
          // node_modules may be a symlink (a copied checkout): its packages keep their path under
          // repoRoot in the bundle's comments, so the content hash does not depend on where it points.
          preserveSymlinks: true,
        });
        const code = result.outputFiles[0]?.text;
        if (code === undefined) throw new Error('esbuild produced no output');
        return { program, fileName: `${program}.mjs`, code };
      } catch (err) {
        throw new AcklabError(
          `cannot bundle ${program === 'agent' ? AGENT_ENTRY : path.join('src/programs', program, 'main.ts')}: ${errorMessage(err)}`,
          1,
          { cause: err },
        );
      }
    }),
  );
}

/** Where `npm run build` leaves the bundles for the package, relative to the package root. */
export const PREBUILT_BUNDLES = path.join('dist', 'bundles');

/** A checkout has the sources to bundle from; an installed package has only what it shipped. */
function hasSources(root: string): boolean {
  return existsSync(path.join(root, 'src', 'programs'));
}

async function prebuilt(root: string, fileName: string): Promise<string> {
  const file = path.join(root, PREBUILT_BUNDLES, fileName);
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new AcklabError(`neither the sources (src/) nor the packaged bundle ${file} are there: reinstall acklab`, 1, { cause: err });
  }
}

/** The programs' bundles for the node image: from the sources in a checkout, else the ones the package shipped. */
export async function programBundles(root: string): Promise<ProgramBundle[]> {
  if (hasSources(root)) return bundlePrograms(root);
  return Promise.all(PROGRAMS.map(async (program) => ({ program, fileName: `${program}.mjs`, code: await prebuilt(root, `${program}.mjs`) })));
}

/** The agent's bundle for the shaper image, the same way. */
export async function agentBundle(root: string): Promise<{ fileName: string; code: string }> {
  if (hasSources(root)) return bundleAgent(root);
  return { fileName: 'agent.mjs', code: await prebuilt(root, 'agent.mjs') };
}

/** Writes the bundles into `<root>/dist/bundles` (run by `npm run build`, so `npm pack` ships them). */
export async function writePrebuiltBundles(root: string): Promise<string[]> {
  const dir = path.join(root, PREBUILT_BUNDLES);
  await mkdir(dir, { recursive: true });
  const bundles = [...(await bundlePrograms(root)), await bundleAgent(root)];
  return Promise.all(
    bundles.map(async (b) => {
      const file = path.join(dir, b.fileName);
      await writeFile(file, b.code, { mode: 0o755 });
      return file;
    }),
  );
}
