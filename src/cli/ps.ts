/** `acklab ps [--lab NAME] [--all-owners]` — your labs' nodes with kind, state and addresses (found by label). */
import type { Command } from 'commander';
import { listLabs, listNodes } from '../lab/index.js';
import { engineRuntime, owner } from './engine.js';
import { nodeTable } from './lab-table.js';

export function register(program: Command): void {
  program
    .command('ps')
    .description('list the nodes of your running labs (--all-owners: everyone\'s)')
    .option('--lab <name>', 'only this lab')
    .option('--all-owners', 'labs of every owner, with an owner column (default: yours, ACKLAB_OWNER or user@host)')
    .action(async (opts: { lab?: string; allOwners?: boolean }) => {
      const runtime = await engineRuntime();
      const me = owner();
      const scope = opts.allOwners ? {} : { owner: me };
      const nodes = await listNodes(runtime, opts.lab, scope);
      if (nodes.length === 0) {
        const others = opts.allOwners ? [] : (await listLabs(runtime)).filter((l) => l.owner !== me && (opts.lab === undefined || l.lab === opts.lab));
        const what = opts.lab === undefined ? `no lab of yours (${me}) is running` : `no lab of yours named "${opts.lab}" is running`;
        process.stdout.write(`${opts.allOwners ? (opts.lab === undefined ? 'no lab is running' : `no lab named "${opts.lab}" is running`) : what}\n`);
        if (others.length > 0) process.stdout.write(`(${others.length} lab${others.length === 1 ? '' : 's'} of other owners: acklab ps --all-owners)\n`);
        return;
      }
      process.stdout.write(`${nodeTable(nodes.map((n) => ({ ...n })), { withLab: true, withOwner: opts.allOwners === true })}\n`);
    });
}
