/**
 * `acklab conditions LAB [--json]` — what is in force, read from each node's kernel (iptables
 * rules and their comments, qdiscs, NFQUEUE listeners), not from memory. Exit 1 when a helper
 * is dead or the state is inconsistent.
 */
import type { Command } from 'commander';
import { renderConditions, withLabController } from './lab-controller.js';

export function register(program: Command): void {
  program
    .command('conditions')
    .description('show the impairments and partitions in force, from the kernel')
    .argument('<lab>', 'lab name')
    .option('--json', 'machine-readable output')
    .action(async (lab: string, opts: { json?: boolean }) => {
      const c = await withLabController(lab, {}, (ctl) => ctl.read());
      process.stdout.write(opts.json ? `${JSON.stringify(c, null, 2)}\n` : `${renderConditions(c)}\n`);
      if (!c.healthy) process.exitCode = 1;
    });
}
