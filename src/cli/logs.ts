/** `acklab logs LAB NODE [-f] [--tail N] [--since 5m|TIME] [--timestamps]` — a node's output, also of an exited node. */
import type { Command } from 'commander';
import { toLogOptions } from '../lab/log-options.js';
import { parseInput, wholeNumber } from './input.js';
import { nodeOf, openLab } from './lab-target.js';

interface Opts {
  follow?: boolean;
  tail?: number;
  since?: string;
  timestamps?: boolean;
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("print a node's output (stdout and stderr), also of a node that has exited")
    .argument('<lab>', 'lab name')
    .argument('<node>', 'node name')
    .option('-f, --follow', 'keep printing new output until the node stops (Ctrl-C to quit)')
    .option('--tail <n>', 'only the last n lines', wholeNumber('--tail'))
    .option('--since <when>', 'only output since then: a duration before now (30s, 5m, 1h) or a time (2025-05-01T10:00:00Z)')
    .option('-t, --timestamps', "prefix every line with the engine's RFC 3339 timestamp")
    .action(async (lab: string, node: string, opts: Opts) => {
      const options = parseInput(() => toLogOptions({ ...(opts.tail !== undefined ? { tail: opts.tail } : {}), ...(opts.since !== undefined ? { since: opts.since } : {}), timestamps: opts.timestamps === true }));
      const target = await openLab(lab);
      const n = nodeOf(target, node);
      if (!opts.follow) {
        process.stdout.write(await target.runtime.containers.logs(n.containerId, options));
        return;
      }
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      try {
        await target.runtime.containers.followLogs(n.containerId, process.stdout, process.stderr, { ...options, signal: abort.signal });
      } finally {
        process.off('SIGINT', stop);
      }
    });
}
