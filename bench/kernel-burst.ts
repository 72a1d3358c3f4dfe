/**
 * bench:kernel-burst — does the netem tree's unimpaired default class throttle? (issue #17)
 *
 * `tc class show` prints the 10gbit classes of src/impair/tc.ts with `burst 0b cburst 0b`: tc's
 * default burst is rate/HZ + MTU with HZ = 1e9 from /proc/net/psched, about one MTU, which at
 * 10 Gbit/s is ~1.3 µs and prints as 0b. Here the untouched destination b3 is measured behind four
 * root qdiscs on a's eth0 (each in a namespace pair of its own), each against a twin namespace pair
 * with no qdisc at all, AT THE SAME TIME (parallel bulk TCP, interleaved UDP probe pairs), so the
 * host's load cancels out:
 *
 *   none    nothing (the A/A check: ratio ≈ 1, RTT difference ≈ 0)
 *   tree    the tree a's agent builds (plan.ts): b1 delay 20 ms, b2 rate 10 mbit, b3 default
 *   burst   the same argv with `burst 256k cburst 256k` appended to the two 10gbit classes
 *   pfifo   a bare pfifo root (what any qdisc costs)
 *
 * and the default class's overlimits (how often htb held a packet back for tokens). The burst
 * variant is an experiment, hand-edited argv: it is not what acklab sends.
 *
 *   npm run bench:kernel-burst      (about a minute; needs what `make test-kernel` needs)
 */
import { acklabVmImage, compileTools, ensureKernelVm } from '../test/kernel/kernel-vm.js';
import { PlannedLab, condition } from '../test/kernel/plan.js';
import { ADDR, topology } from '../test/kernel/scenario.js';
import { REDO, VM_TIMEOUT_MS } from '../test/kernel/run.js';
import { type VmLine, type VmMeasure, type VmStep, runVm } from '../test/kernel/vm/runner.js';

const ROUNDS = 5;
const WINDOW_MS = 1000;

async function main(): Promise<void> {
  const ready = await ensureKernelVm();
  if (!ready.ok) {
    process.stdout.write(`## bench:kernel-burst — SKIPPED: ${ready.reason}\n`);
    return;
  }
  // Each variant in a namespace pair of its own (nothing to tear down between them); one twin pair with no qdisc.
  const tree = (ns: string) =>
    new PlannedLab(
      {
        nodes: [{ name: 'a', addresses: [ADDR.a] }, { name: 'b1', addresses: [ADDR.b1] }, { name: 'b2', addresses: [ADDR.b2] }, { name: 'b3', addresses: [ADDR.b3] }],
        nsOf: { a: ns, b1: `${ns}-b`, b2: `${ns}-b`, b3: `${ns}-b` },
        devices: { a: ['eth0'] },
      },
      'netem',
      1,
    ).impair([condition('a', 'b1', { delay: '20ms' }), condition('a', 'b2', { rate: '10mbit' })]);
  const variants: Record<string, VmStep[]> = {
    none: [],
    tree: await tree('tree'),
    burst: (await tree('burst')).map((s) => (s.kind === 'run' && s.argv.includes('class') && s.argv.includes('10gbit') ? { ...s, argv: [...s.argv, 'burst', '256k', 'cburst', '256k'] } : s)),
    pfifo: [{ kind: 'run', ns: 'pfifo', argv: ['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'pfifo'] }],
  };
  const tput = (id: string, ns: string): VmMeasure => ({ kind: 'measure', id, ns, probe: 'tput', to: ADDR.b3, secondsMs: WINDOW_MS, warmupMs: 300, parts: 1 });
  const steps: VmStep[] = [...Object.keys(variants).flatMap((name) => topology(name, `${name}-b`)), ...topology('y-a', 'y-b')];
  for (const ns of [...Object.keys(variants), 'y-a']) steps.push({ kind: 'measure', id: `warm.${ns}`, ns, probe: 'udp', to: ADDR.b3, count: 20, intervalUs: 2000, timeoutMs: 300, once: true });
  for (const [name, v] of Object.entries(variants)) {
    steps.push(...v);
    steps.push({ kind: 'measure', id: `rtt.${name}`, ns: name, probe: 'udp', to: ADDR.b3, count: 400, intervalUs: 2000, timeoutMs: 300, twin: { ns: 'y-a', to: ADDR.b3 } });
    for (let i = 0; i < ROUNDS; i++) steps.push({ kind: 'parallel', measures: [tput(`${name}.x.${i}`, name), tput(`${name}.y.${i}`, 'y-a')] });
    steps.push({ kind: 'run', ns: name, argv: ['tc', '-s', 'class', 'show', 'dev', 'eth0'], capture: `cls.${name}` });
  }
  const tools = await compileTools();
  try {
    const r = await runVm(acklabVmImage(ready.kernel, tools), { sections: [{ name: 'burst', steps }] }, { timeoutMs: VM_TIMEOUT_MS, redo: REDO });
    const byId = new Map<string, VmLine>();
    for (const l of r.lines) if (typeof l.id === 'string') byId.set(l.id, l);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const rows = Object.keys(variants).map((name) => {
      const x = [...Array(ROUNDS).keys()].map((i) => Number(byId.get(`${name}.x.${i}`)?.goodputBps));
      const y = [...Array(ROUNDS).keys()].map((i) => Number(byId.get(`${name}.y.${i}`)?.goodputBps));
      const rtt = byId.get(`rtt.${name}`) as (VmLine & { pairDiffUs?: { p50: number }; twin?: { rttUs?: { p50: number } } }) | undefined;
      const cls = /class htb 1:1 [^\n]*burst (\S+)[^\n]*\n\s*Sent \d+ bytes (\d+) pkt \(dropped \d+, overlimits (\d+)/.exec(String(byId.get(`cls.${name}`)?.stdout ?? ''));
      return [
        name,
        `${median(x.map((v, i) => v / y[i]!)).toFixed(3)}`,
        `${(median(x) / 1e6).toFixed(0)} vs ${(median(y) / 1e6).toFixed(0)}`,
        rtt?.pairDiffUs ? `${rtt.pairDiffUs.p50 >= 0 ? '+' : ''}${rtt.pairDiffUs.p50.toFixed(1)} µs of ${rtt.twin?.rttUs?.p50.toFixed(0)} µs` : '—',
        cls ? `${cls[1]}: ${cls[3]} of ${cls[2]} pkts` : '—',
      ];
    });
    const head = ['root qdisc', 'bulk TCP ratio (median of pairs)', 'Mbit/s vs twin', 'RTT, per pair', 'default class: burst, overlimits'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (c: string[]) => `| ${c.map((v, i) => v.padEnd(widths[i]!)).join(' | ')} |`;
    process.stdout.write(
      [
        `## bench:kernel-burst — ${ready.kernel.packageFile}, qemu tcg; untouched destination vs a twin path with no qdisc, ${ROUNDS} rounds`,
        `qemu's vCPU waited ${r.hostWait === undefined ? '?' : (100 * r.hostWait).toFixed(1)} % of the run for a host CPU; sections ${r.sections.map((s) => `${s.name} ${s.ok ? 'ok' : 'FAILED'}`).join(', ')}`,
        '',
        line(head),
        `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
        ...rows.map(line),
        '',
      ].join('\n'),
    );
  } finally {
    tools.dispose();
  }
}

main().catch((err) => {
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
