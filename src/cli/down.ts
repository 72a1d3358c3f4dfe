/**
 * `acklab down [NAME|FILE] [--all] [--all-owners] [--dry-run]` — removes labs, found by label:
 * one by name (or by a topology file's name), your only running lab, or all of your labs. Only
 * your own labs (ACKLAB_OWNER, else user@host) unless --all-owners widens it; --dry-run lists
 * what would go and removes nothing.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { AcklabError, UsageError } from '../common/index.js';
import type { LabSummary } from '../lab/index.js';
import { readInputFileSync } from '../topology/input-file.js';
import { engineRuntime, owner } from './engine.js';
import { loadLabCatalog } from './load.js';

/** A lab name, or the `name:` of a topology file (read leniently: a broken file can still go down). */
export function labNameOf(arg: string): string {
  if (!existsSync(arg)) return arg;
  let name: unknown;
  try {
    name = (parse(readInputFileSync(arg)) as { name?: unknown } | null)?.name;
  } catch (err) {
    throw new AcklabError(`cannot read the lab name from ${arg}: ${(err as Error).message}`, 2, { cause: err });
  }
  if (typeof name !== 'string') throw new AcklabError(`${arg} has no "name:"; give the lab name instead`, 2);
  return name;
}

interface Opts {
  all?: boolean;
  allOwners?: boolean;
  dryRun?: boolean;
}

const describe = (l: LabSummary, withOwner: boolean) =>
  `lab "${l.lab}"${withOwner ? ` (owner ${l.owner || 'unknown'})` : ''}: ${l.containers} containers, ${l.networks} networks`;

export function register(program: Command): void {
  program
    .command('down')
    .description('remove a lab of yours (by name or topology file), your only running lab, or all of your labs with --all')
    .argument('[lab]', 'lab name or topology file')
    .option('--all', 'remove every lab of yours (with --all-owners: every lab on the engine)')
    .option('--all-owners', 'act on labs of any owner, not only yours (ACKLAB_OWNER, else user@host)')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .action(async (arg: string | undefined, opts: Opts) => {
      if (opts.all && arg !== undefined) throw new UsageError('give a lab or --all, not both');
      const { listLabs, removeLab } = await loadLabCatalog();
      const runtime = await engineRuntime();
      const me = owner();
      const everyone = opts.allOwners === true;
      const labs = await listLabs(runtime, everyone ? {} : { owner: me });
      let targets: LabSummary[];
      if (arg !== undefined) {
        const lab = labNameOf(arg);
        targets = labs.filter((l) => l.lab === lab);
        if (targets.length === 0) {
          const theirs = everyone ? undefined : (await listLabs(runtime)).find((l) => l.lab === lab);
          if (theirs) throw new AcklabError(`lab "${lab}" belongs to ${theirs.owner || 'an unknown owner'}, not to you (${me}); acklab down removes only your own labs`);
          process.stdout.write(`nothing to remove for lab "${lab}"\n`);
          return;
        }
      } else if (opts.all) {
        targets = labs;
      } else {
        if (labs.length > 1) throw new UsageError(`several of your labs are running (${labs.map((l) => l.lab).join(', ')}); say which, or use --all`);
        targets = labs;
      }
      if (targets.length === 0) {
        process.stdout.write(everyone ? 'no lab is running\n' : `no lab of yours (${me}) is running\n`);
        return;
      }
      if (opts.dryRun) {
        for (const l of targets) process.stdout.write(`would remove ${describe(l, everyone)}\n`);
        return;
      }
      for (const l of targets) {
        const r = await removeLab(runtime, l.lab);
        process.stdout.write(`removed lab "${l.lab}"${everyone ? ` (owner ${l.owner || 'unknown'})` : ''}: ${r.containers} containers, ${r.networks} networks\n`);
        for (const line of r.swarms ?? []) process.stdout.write(`${line}\n`);
      }
    });
}
