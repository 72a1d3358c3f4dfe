/**
 * bench:kernel — the two backends side by side on a real kernel with sch_netem (Debian's, booted
 * under qemu; see test/kernel/): one table of backend × condition × configured × measured, the
 * bounds of issue #17, and what the 10gbit default class costs an untouched destination.
 * The test (test/kernel/netem-vm.test.ts) asserts the same rows.
 *
 *   npm run bench:kernel      (about 2–3 minutes; the first run also fetches the kernel, ~70 MB)
 */
import { treeReadBack, runKernelLab } from '../test/kernel/run.js';

async function main(): Promise<void> {
  const t0 = Date.now();
  const run = await runKernelLab({ log: (l) => process.stderr.write(`  vm: ${l.length > 160 ? `${l.slice(0, 160)}…` : l}\n`) });
  if ('skipped' in run) {
    process.stdout.write(`## bench:kernel — SKIPPED: ${run.skipped}\n`);
    return;
  }
  const r = run.result;
  const tree = treeReadBack(run, 'netem')
    .split('\n')
    .filter((l) => /^class htb|Sent|tokens/.test(l.trim()))
    .map((l) => `    ${l.trim()}`)
    .join('\n');
  process.stdout.write(
    [
      `## bench:kernel — ${run.kernel}, qemu ${r.accel} (${r.modules.length} modules; initrd ${(r.initrdBytes / 1e6).toFixed(1)} MB)`,
      `prepare ${(run.ms.prepare / 1000).toFixed(1)} s (kernel check/fetch + compile), image ${(r.ms.image / 1000).toFixed(1)} s, boot to first line ${(r.ms.boot / 1000).toFixed(1)} s, VM total ${(r.ms.total / 1000).toFixed(1)} s; wall ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      `sections: ${r.sections.map((s) => `${s.name} ${s.ok ? 'ok' : 'FAILED'}`).join(', ')}${r.timedOut ? ' — TIMED OUT' : ''}; ` +
        `qemu's vCPU waited ${r.hostWait === undefined ? '?' : (100 * r.hostWait).toFixed(1)} % of the run for a host CPU; ` +
        `${r.verdicts.filter((v) => v.verdict === 'redo').length} measurement(s) taken again for it`,
      '',
      run.table,
      '',
      'netem tree after the last A/B round (tc -s class show dev eth0 in a\'s namespace):',
      tree,
      '',
    ].join('\n'),
  );
  const inconclusive = run.rows.filter((x) => x.inconclusive).length;
  if (inconclusive) process.stdout.write(`${inconclusive} row(s) not judged: the host kept qemu waiting for a CPU on every attempt\n`);
  if (!run.rows.every((x) => x.ok || x.inconclusive)) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
