/** `acklab exec LAB NODE -- CMD…` — runs a command in a running node; its exit status becomes ours. */
import type { Command } from 'commander';
import { UsageError } from '../common/index.js';
import { openLab, requireRunning } from './lab-target.js';

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command inside a running node, e.g. acklab exec mcast3 p1 -- ls; its exit status is acklab\'s')
    .argument('<lab>', 'lab name')
    .argument('<node>', 'node name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .action(async (lab: string, node: string, command: string[]) => {
      if (command.length === 0) throw new UsageError('give the command after --, e.g. acklab exec LAB p1 -- ls /tmp');
      const target = await openLab(lab);
      const [n] = requireRunning(target, [node], 'exec');
      const code = await target.runtime.containers.execStream(n!.containerId, command, process.stdout, process.stderr);
      if (code !== 0) process.exitCode = code;
    });
}
