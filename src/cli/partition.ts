/**
 * `acklab partition LAB n1,n2 n3` (groups; also "n1,n2 | n3") or `--one-way n1 n2` (n1 -/-> n2).
 * Packets are dropped like a cut cable (TCP retransmits), or refused with TCP resets (`--reset`).
 */
import type { Command } from 'commander';
import { UsageError } from '../common/index.js';
import { checkPartitionNodes, parsePartition, partitionCuts, partitionNodes, type PartitionSpec } from '../conditions/index.js';
import { parseInput } from './input.js';
import { parseBackend, parseFor, withLabController } from './lab-controller.js';
import { openLab, requireRunning } from './lab-target.js';

interface Opts {
  oneWay?: boolean;
  for?: string;
  reset?: boolean;
  dryRun?: boolean;
  backend?: string;
}

export function register(program: Command): void {
  program
    .command('partition')
    .description('split the lab into groups that cannot reach each other, or cut one direction (--one-way FROM TO)')
    .argument('<lab>', 'lab name')
    .argument('<groups...>', 'groups of comma-separated nodes, e.g. n1,n2 n3 (or with --one-way: FROM TO)')
    .option('--one-way', 'cut only FROM -> TO; TO -> FROM still flows')
    .option('--reset', 'refuse TCP with resets instead of silently dropping')
    .option('--for <duration>', 'heal it again after this long (the nodes\' agents do it, even if acklab is killed)')
    .option('--dry-run', 'print the commands instead of running them')
    .option('--backend <name>', 'netem or userspace instead of probing the kernel (for --dry-run)')
    .action(async (lab: string, args: string[], opts: Opts) => {
      const style = opts.reset ? 'reset' : 'drop';
      if (opts.oneWay && args.length !== 2) throw new UsageError(`--one-way takes exactly two nodes, FROM and TO (got ${args.length})`);
      const spec: PartitionSpec = parseInput(() => parsePartition(opts.oneWay ? `${args[0]} -/-> ${args[1]}` : args.join(' ')));
      const forMs = parseFor(opts.for);
      parseBackend(opts.backend);
      requireRunning(await openLab(lab), partitionNodes(spec), 'partition', { allowPaused: true });
      const cuts = partitionCuts(spec, style);
      await withLabController(lab, opts, async (ctl) => {
        checkPartitionNodes(spec, ctl.nodeNames);
        await ctl.partition(cuts, forMs === undefined ? {} : { forMs });
      });
      if (!opts.dryRun) process.stdout.write(`cut ${cuts.map((c) => `${c.from} -/-> ${c.to}`).join(', ')} (${style})\n`);
    });
}
