/**
 * `acklab check-order FILE…` — verifies that every peer's delivered file holds the same sequence,
 * each message exactly once, in (timestamp, sender) order. Exit 1 naming the first divergence.
 */
import type { Command } from 'commander';
import { AcklabError } from '../common/errors.js';

export function register(program: Command): void {
  program
    .command('check-order')
    .description('check that acklab-mcast delivered files agree: same sequence, each message exactly once')
    .argument('<files...>', 'delivered files (one JSON line per delivered message), one per peer')
    .option('--expect <n>', 'each file must hold exactly n deliveries (count × peers)', (v) => {
      if (!/^\d+$/.test(v)) throw new AcklabError(`--expect must be a non-negative integer (got "${v}")`, 2);
      return Number(v);
    })
    .action(async (files: string[], opts: { expect?: number }) => {
      const { checkOrderFiles } = await import('../programs/mcast/index.js');
      const result = checkOrderFiles(files, { expected: opts.expect });
      if (!result.ok) {
        throw new AcklabError(
          `order check FAILED for ${files.length} file(s):\n${result.problems.map((p) => `  - ${p}`).join('\n')}`,
        );
      }
      process.stdout.write(`order check OK: ${files.length} file(s) agree on the same ${result.length} deliveries, each exactly once\n`);
    });
}
