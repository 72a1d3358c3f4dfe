/**
 * `acklab impair LAB NODE [--to PEER] --delay 100ms --jitter 10ms --loss 5% --rate 1mbit …` —
 * sets NODE's egress conditions (to one peer, or all its egress); replaces what was set before
 * for the same NODE and PEER. `--dry-run` prints the argv instead of running it.
 */
import type { Command } from 'commander';
import { ALL_PEERS, ConditionError, type ImpairmentInput, parseImpairment } from '../conditions/index.js';
import { parseInput } from './input.js';
import { parseBackend, parseFor, withLabController } from './lab-controller.js';
import { openLab, requireRunning } from './lab-target.js';

interface Opts extends ImpairmentInput {
  to?: string;
  for?: string;
  dryRun?: boolean;
  backend?: string;
}

export function register(program: Command): void {
  program
    .command('impair')
    .description("impair a node's egress (to one peer with --to, else all of it): delay, jitter, loss, duplicate, reorder, corrupt, rate")
    .argument('<lab>', 'lab name')
    .argument('<node>', 'node whose outgoing packets are impaired')
    .option('--to <peer>', 'only packets to this peer (a directed link); default: all egress')
    .option('--delay <duration>', 'added one-way delay, e.g. 100ms')
    .option('--jitter <duration>', 'delay varies by this much (≤ delay)')
    .option('--distribution <name>', 'jitter distribution: uniform, normal, pareto, paretonormal (default normal)')
    .option('--delay-correlation <percent>', 'netem backend only')
    .option('--loss <percent>', 'packet loss, e.g. 5%')
    .option('--loss-correlation <percent>', 'netem-style correlation of successive losses')
    .option('--duplicate <percent>', 'duplicate packets')
    .option('--reorder <percent>', 'send this share at once, ahead of delayed ones (needs --delay)')
    .option('--corrupt <percent>', 'flip one bit in this share of packets')
    .option('--rate <rate>', 'bandwidth, e.g. 1mbit, 500kbit (tc units: mbit = megabit, mbps = megabyte/s)')
    .option('--for <duration>', 'remove it again after this long (the node\'s agent does it, even if acklab is killed)')
    .option('--dry-run', 'print the commands instead of running them')
    .option('--backend <name>', 'netem or userspace instead of probing the kernel (for --dry-run)')
    .action(async (lab: string, node: string, opts: Opts) => {
      const to = opts.to ?? ALL_PEERS;
      const { to: _to, for: _for, dryRun: _d, backend: _b, ...fields } = opts;
      const impairment = parseInput(() => {
        try {
          return parseImpairment(fields);
        } catch (err) {
          // name each problem by its flag, as typed
          if (err instanceof ConditionError) throw new ConditionError(err.issues.map((i) => (i.field ? { ...i, field: `--${i.field}` } : i)));
          throw err;
        }
      });
      const forMs = parseFor(opts.for);
      parseBackend(opts.backend);
      requireRunning(await openLab(lab), to === ALL_PEERS ? [node] : [node, to], 'impair', { allowPaused: true });
      await withLabController(lab, opts, async (ctl) => {
        const backend = await ctl.backend(node);
        process.stderr.write(`acklab impair: backend ${backend.backend} (${backend.reason})\n`);
        await ctl.impair([{ node, to, impairment }], forMs === undefined ? {} : { forMs });
      });
      if (!opts.dryRun) process.stdout.write(`impaired ${node} -> ${to === ALL_PEERS ? 'all' : to}${opts.for ? ` for ${opts.for}` : ''}\n`);
    });
}
