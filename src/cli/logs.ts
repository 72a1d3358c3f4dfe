/** `acklab logs NODE [-f]` — a node's output (stdout and stderr). */
import type { Command } from 'commander';
import { UsageError } from '../common/index.js';
import { findNode } from '../lab/index.js';
import { engineRuntime, owner } from './engine.js';

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a node's output")
    .argument('<node>', 'node name')
    .option('-f, --follow', 'keep printing new output until the node stops (Ctrl-C to quit)')
    .option('--lab <name>', 'the lab, when several are running')
    .option('--tail <n>', 'only the last n lines')
    .action(async (node: string, opts: { follow?: boolean; lab?: string; tail?: string }) => {
      if (opts.tail !== undefined && !/^\d+$/.test(opts.tail)) throw new UsageError(`--tail must be a whole number (got "${opts.tail}")`);
      const runtime = await engineRuntime();
      const n = await findNode(runtime, node, opts.lab, owner());
      if (!opts.follow) {
        process.stdout.write(await runtime.containers.logs(n.containerId, opts.tail === undefined ? {} : { tail: Number(opts.tail) }));
        return;
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      try {
        await runtime.containers.followLogs(n.containerId, process.stdout, process.stderr, { signal: abort.signal });
      } finally {
        process.off('SIGINT', stop);
      }
    });
}
