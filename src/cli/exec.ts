/** `acklab exec NODE -- CMD…` — runs a command in a node; its exit status becomes ours. */
import type { Command } from 'commander';
import { AcklabError, UsageError } from '../common/index.js';
import { findNode } from '../lab/index.js';
import { engineRuntime, owner } from './engine.js';

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command inside a node, e.g. acklab exec p1 -- cat /tmp/delivered.txt')
    .argument('<node>', 'node name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('--lab <name>', 'the lab, when several are running')
    .action(async (node: string, command: string[], opts: { lab?: string }) => {
      if (command.length === 0) throw new UsageError('give the command after --, e.g. acklab exec p1 -- ls /tmp');
      const runtime = await engineRuntime();
      const n = await findNode(runtime, node, opts.lab, owner());
      if (n.state !== 'running') {
        throw new AcklabError(`node "${n.name}" of lab "${n.lab}" is ${n.state}; exec needs a running node (its output: acklab logs ${n.name})`, 1);
      }
      const code = await runtime.containers.execStream(n.containerId, command, process.stdout, process.stderr);
      if (code !== 0) process.exitCode = code;
    });
}
