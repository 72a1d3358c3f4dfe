import { describe, expect, it } from 'vitest';
import { KERNEL_PROBES, chooseBackend, probeBackend, probeKernel, type RunArgv } from '../../../src/impair/index.js';

/** A namespace whose kernel lacks `missing`; records every argv it runs. */
function kernel(missing: string[], iptables = 'iptables v1.8.9 (nf_tables)') {
  const ran: string[] = [];
  const run: RunArgv = async (argv) => {
    ran.push(argv.join(' '));
    if (argv[0] === 'iptables' && argv[1] === '-V') return { exitCode: 0, stdout: iptables, stderr: '' };
    const probe = KERNEL_PROBES.find((p) => p.add.join(' ') === argv.join(' '));
    if (probe && missing.includes(probe.feature)) return { exitCode: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n' };
    return { exitCode: 0, stdout: '', stderr: '' };
  };
  return { run, ran };
}

describe('the kernel probe', () => {
  it('tries every feature and removes each one it added', async () => {
    const { run, ran } = kernel(['netem']);
    const k = await probeKernel(run);
    expect(k).toMatchObject({ netem: false, htb: true, tbf: true, nfqueue: true, iptablesBackend: 'nf_tables' });
    expect(k.raw.netem).toBe('exit 2: Error: Specified qdisc kind is unknown.');
    const [netem, htb, tbf, nfq] = KERNEL_PROBES.map((p) => ({ add: p.add.join(' '), remove: p.remove.join(' ') }));
    // one feature at a time on lo, each removed before the next; netem was never added, so never removed
    expect(ran).toEqual([netem!.add, htb!.add, htb!.remove, tbf!.add, tbf!.remove, nfq!.add, nfq!.remove, 'iptables -V']);
  });

  it('tells the legacy iptables backend', async () => {
    expect((await probeKernel(kernel([], 'iptables v1.8.7 (legacy)').run)).iptablesBackend).toBe('legacy');
  });

  it.each([
    [[], 'netem'],
    [['netem'], 'userspace'],
    [['netem', 'htb'], 'userspace'],
  ])('without %j the lab gets %s', async (missing, backend) => {
    expect((await probeBackend(kernel(missing).run)).backend).toBe(backend);
  });

  it('with neither netem nor NFQUEUE it says what to load', async () => {
    const k = await probeKernel(kernel(['netem', 'nfqueue']).run);
    expect(() => chooseBackend(k)).toThrow(/neither backend works on this kernel.*modprobe sch_netem, or modprobe nfnetlink_queue xt_NFQUEUE/);
  });
});
