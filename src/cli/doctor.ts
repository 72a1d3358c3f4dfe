/** `acklab doctor [--json]`: can the lab run here? Exit 0 when it can, else 1 with each missing piece and its fix. */
import type { Command } from 'commander';
import type { Check } from '../doctor/index.js';
import { engineRuntime } from './engine.js';
import { loadDoctor } from './load.js';

const MARK: Record<Check['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check the engine, base images, built images and kernel network emulation (netem, htb, tbf, NFQUEUE)')
    .option('--json', 'print the full report as one JSON document (shape: README "Machine-readable output")')
    .action(async (opts: { json?: boolean }) => {
      const report = await (await loadDoctor()).runDoctor(await engineRuntime());
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        for (const check of report.checks) {
          process.stdout.write(`[${MARK[check.status]}] ${check.name}: ${check.detail}\n`);
          if (check.fix && check.status !== 'ok') process.stdout.write(`       fix: ${check.fix}\n`);
        }
        process.stdout.write(report.ok ? 'The lab can run here.\n' : 'The lab cannot run here yet: fix the FAIL lines above.\n');
      }
      if (!report.ok) process.exitCode = 1;
    });
}
