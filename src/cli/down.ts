/** `acklab down [NAME|FILE|--all]` — removes a lab's containers and networks, found by label. */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { AcklabError, UsageError } from '../common/index.js';
import { loadLabCatalog, loadRuntime } from './load.js';

/** A lab name, or the `name:` of a topology file (read leniently: a broken file can still go down). */
export function labNameOf(arg: string): string {
  if (!existsSync(arg)) return arg;
  let name: unknown;
  try {
    name = (parse(readFileSync(arg, 'utf8')) as { name?: unknown } | null)?.name;
  } catch (err) {
    throw new AcklabError(`cannot read the lab name from ${arg}: ${(err as Error).message}`, 2, { cause: err });
  }
  if (typeof name !== 'string') throw new AcklabError(`${arg} has no "name:"; give the lab name instead`, 2);
  return name;
}

export function register(program: Command): void {
  program
    .command('down')
    .description('remove a lab (by name or topology file), the only running lab, or every lab with --all')
    .argument('[lab]', 'lab name or topology file')
    .option('--all', 'remove every lab')
    .action(async (arg: string | undefined, opts: { all?: boolean }) => {
      const [{ listNodes, removeAllLabs, removeLab }, { dockerRuntime }] = await Promise.all([loadLabCatalog(), loadRuntime()]);
      const runtime = dockerRuntime();
      if (opts.all) {
        if (arg !== undefined) throw new UsageError('give a lab or --all, not both');
        const r = await removeAllLabs(runtime);
        process.stdout.write(`removed every lab: ${r.containers} containers, ${r.networks} networks\n`);
        return;
      }
      let lab: string;
      if (arg !== undefined) lab = labNameOf(arg);
      else {
        const labs = [...new Set((await listNodes(runtime)).map((n) => n.lab))];
        if (labs.length === 0) {
          process.stdout.write('no lab is running\n');
          return;
        }
        if (labs.length > 1) throw new UsageError(`several labs are running (${labs.join(', ')}); say which, or use --all`);
        lab = labs[0]!;
      }
      const r = await removeLab(runtime, lab);
      process.stdout.write(
        r.containers + r.networks === 0 ? `nothing to remove for lab "${lab}"\n` : `removed lab "${lab}": ${r.containers} containers, ${r.networks} networks\n`,
      );
    });
}
