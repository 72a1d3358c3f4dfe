/** `acklab heal LAB [NODE]` — removes every condition and cut (or those involving NODE), from the kernel. */
import type { Command } from 'commander';
import { AcklabError } from '../common/index.js';
import { parseBackend, withLabController } from './lab-controller.js';
import { nodeOf, openLab } from './lab-target.js';

export function register(program: Command): void {
  program
    .command('heal')
    .description('remove all impairments and partitions, or only those involving NODE')
    .argument('<lab>', 'lab name')
    .argument('[node]', 'only this node: its egress, impairments towards it, and every cut it is in')
    .option('--dry-run', 'print the commands instead of running them')
    .option('--backend <name>', 'netem or userspace instead of probing the kernel (for --dry-run)')
    .action(async (lab: string, node: string | undefined, opts: { dryRun?: boolean; backend?: string }) => {
      parseBackend(opts.backend);
      const target = await openLab(lab);
      if (node !== undefined) {
        const n = nodeOf(target, node);
        // an exited node's namespace went with its own rules; healing the whole lab clears the others' rules towards it
        if (n.state !== 'running' && n.state !== 'paused') {
          throw new AcklabError(`node "${node}" of lab "${lab}" is ${n.state}: its own rules went with it; \`acklab heal ${lab}\` removes every other rule`);
        }
      }
      await withLabController(lab, opts, (ctl) => ctl.heal(node));
      if (!opts.dryRun) process.stdout.write(`healed ${node ?? `lab "${lab}"`}\n`);
    });
}
