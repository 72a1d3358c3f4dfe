/**
 * `acklab conditions LAB [--json]` — what is in force, read from each node's kernel (iptables
 * rules and their comments, qdiscs, NFQUEUE listeners), not from memory. Exit 1 when a helper
 * is dead or the state is inconsistent.
 */
import type { Command } from 'commander';
import { printJson } from './input.js';
import { renderConditions, withLabController } from './lab-controller.js';
import { openLab } from './lab-target.js';

export function register(program: Command): void {
  program
    .command('conditions')
    .description('show the impairments and partitions in force, from the kernel (exit 1 when a helper died)')
    .argument('<lab>', 'lab name')
    .option('--json', 'print what is in force as one JSON document (shape: README "Machine-readable output")')
    .action(async (lab: string, opts: { json?: boolean }) => {
      await openLab(lab);
      const c = await withLabController(lab, {}, (ctl) => ctl.read());
      if (opts.json) printJson(c);
      else process.stdout.write(`${renderConditions(c)}\n`);
      if (!c.healthy) process.exitCode = 1;
    });
}
