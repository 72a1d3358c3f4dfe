/**
 * `acklab images [FILE…] [--rebuild] [--prune] [--base-image ROLE=IMAGE|bootstrap]…`: builds what is
 * missing, with progress — acklab's images, and the build contexts (`build:`) of the topology or
 * experiment files given.
 */
import type { Command } from 'commander';
import { AcklabError } from '../common/index.js';
import type { Topology } from '../topology/index.js';
import { engineRuntime } from './engine.js';
import { loadExperiment, loadImages, loadTopology } from './load.js';

/** A topology file, or an experiment file (it has a duration) whose topology is read. */
async function topologyOf(file: string): Promise<Topology> {
  let doc: unknown;
  const { parse } = await import('yaml');
  try {
    doc = parse((await loadTopology()).readInputFileSync(file));
  } catch (err) {
    throw new AcklabError(`cannot read ${file}: ${(err as Error).message}`, 2, { cause: err });
  }
  if (doc && typeof doc === 'object' && 'duration' in doc) {
    const { experimentTopology, loadExperimentFile } = await loadExperiment();
    const loaded = await loadExperimentFile(file);
    return experimentTopology(loaded.experiment, loaded.source);
  }
  return (await loadTopology()).loadTopology(file);
}

export function register(program: Command): void {
  program
    .command('images')
    .description('build the lab images (acklab/node, acklab/shaper) when their inputs changed, and the build contexts of the files given; bootstraps a Debian base when no registry answers')
    .argument('[files...]', 'topology or experiment files whose build: contexts to build too')
    .option('--rebuild', 'build again without the layer cache, even when up to date')
    .option(
      '--base-image <ROLE=IMAGE|bootstrap>',
      'base image for a role (node, shaper), repeatable; "bootstrap" uses the debootstrapped Debian base',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--verbose', 'print every line of the build output')
    .option('--prune', 'then remove older content-hash tags of acklab/node, acklab/shaper and acklab/build-* that no container uses')
    .action(async (files: string[], opts: { rebuild?: boolean; baseImage: string[]; verbose?: boolean; prune?: boolean }) => {
      const started = performance.now();
      const { buildImages, ensureTopologyImages, parseBaseImageOptions, pruneImages } = await loadImages();
      // every file is read and validated before anything is built
      const topologies = await Promise.all(files.map(topologyOf));
      const baseImages = parseBaseImageOptions(opts.baseImage);
      const log = (text: string) => process.stderr.write(`acklab images: ${text}\n`);
      const runtime = await engineRuntime();
      const results = await buildImages({ runtime, rebuild: opts.rebuild === true, baseImages, verbose: opts.verbose === true, log });
      const line = (tag: string, bytes: number, base: string, built: boolean, seconds: number) =>
        process.stdout.write(`${tag}  ${(bytes / 1e6).toFixed(0)} MB  base ${base}  ${built ? `built in ${seconds.toFixed(1)} s` : 'up to date'}\n`);
      for (const r of Object.values(results)) line(r.tag, r.sizeBytes, r.base.ref, r.built, r.seconds);
      const keep = Object.values(results).map((r) => r.tag);
      for (const topology of topologies) {
        const built = await ensureTopologyImages(topology, {
          runtime,
          log,
          rebuild: opts.rebuild === true,
          verbose: opts.verbose === true,
          ...(baseImages.shaper ? { baseImage: baseImages.shaper } : {}),
        });
        for (const b of built.values()) {
          line(b.tag, b.sizeBytes, b.base.ref, b.built, b.seconds);
          keep.push(b.tag);
        }
      }
      if (opts.prune) await pruneImages(keep, { runtime, log });
      process.stdout.write(`done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    });
}
