/**
 * Bundles each lab program (src/programs/<name>/main.ts, exporting `main(argv)`) into one ESM file
 * with esbuild, for the node image: no node_modules, no dev dependencies, Node 18 syntax (the
 * bootstrapped base has bookworm's nodejs).
 */
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
