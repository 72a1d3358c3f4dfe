/** `acklab images [--rebuild] [--prune] [--base-image ROLE=IMAGE|bootstrap]…`: builds what is missing, with progress. */
import type { Command } from 'commander';
import { buildImages, parseBaseImageOptions, pruneImages } from '../images/index.js';

export function register(program: Command): void {
  program
    .command('images')
    .description('build the lab images (acklab/node, acklab/shaper) when their inputs changed; bootstraps a Debian base when no registry answers')
    .option('--rebuild', 'build again without the layer cache, even when up to date')
    .option(
      '--base-image <ROLE=IMAGE|bootstrap>',
      'base image for a role (node, shaper), repeatable; "bootstrap" uses the debootstrapped Debian base',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--verbose', 'print every line of the build output')
    .option('--prune', 'then remove older content-hash tags of acklab/node and acklab/shaper that no container uses')
    .action(async (opts: { rebuild?: boolean; baseImage: string[]; verbose?: boolean; prune?: boolean }) => {
      const started = performance.now();
      const log = (line: string) => process.stderr.write(`acklab images: ${line}\n`);
      const results = await buildImages({
        log,
        rebuild: opts.rebuild === true,
        baseImages: parseBaseImageOptions(opts.baseImage),
        verbose: opts.verbose === true,
      });
      for (const r of Object.values(results)) {
        const what = r.built ? `built in ${r.seconds.toFixed(1)} s` : 'up to date';
        process.stdout.write(`${r.tag}  ${(r.sizeBytes / 1e6).toFixed(0)} MB  base ${r.base.ref}  ${what}\n`);
      }
      if (opts.prune) await pruneImages(Object.values(results).map((r) => r.tag), { log });
      process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });
}
