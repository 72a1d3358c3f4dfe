/** `acklab ps` — every lab node with its kind, state and addresses (found by label). */
import type { Command } from 'commander';
import { listNodes } from '../lab/index.js';
import { dockerRuntime } from '../runtime/index.js';
import { nodeTable } from './lab-table.js';

export function register(program: Command): void {
  program
    .command('ps')
    .description('list the nodes of running labs')
    .option('--lab <name>', 'only this lab')
    .action(async (opts: { lab?: string }) => {
      const nodes = await listNodes(dockerRuntime(), opts.lab);
      if (nodes.length === 0) {
        process.stdout.write(opts.lab === undefined ? 'no lab is running\n' : `no lab named "${opts.lab}" is running\n`);
        return;
      }
      process.stdout.write(`${nodeTable(nodes.map((n) => ({ ...n })), { withLab: true })}\n`);
    });
}
