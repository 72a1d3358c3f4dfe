import { describe, expect, it } from 'vitest';
import { kernelChecks, parseKernelProbe } from '../../../src/engine/index.js';

// The output of KERNEL_PROBE_SCRIPT on this machine's kernel (no sch_netem).
const NO_NETEM = 'netem=2\nhtb=0\ntbf=0\nnfqueue=0\niptables=iptables v1.8.9 (nf_tables)\n';

describe('parseKernelProbe', () => {
  it('reads exit codes and the iptables backend', () => {
    expect(parseKernelProbe(NO_NETEM)).toMatchObject({ netem: false, htb: true, tbf: true, nfqueue: true, iptablesBackend: 'nf_tables' });
  });

  it('tells the legacy backend and missing lines', () => {
    const k = parseKernelProbe('netem=0\niptables=iptables v1.8.7 (legacy)\n');
    expect(k).toMatchObject({ netem: true, htb: false, nfqueue: false, iptablesBackend: 'legacy' });
  });
});

describe('kernelChecks', () => {
  const status = (out: string) => Object.fromEntries(kernelChecks(parseKernelProbe(out)).map((c) => [c.name, c.status]));

  it('no netem but NFQUEUE: a warning, the lab can run (userspace helper)', () => {
    expect(status(NO_NETEM)).toEqual({
      'kernel: netem': 'warn',
      'kernel: htb': 'ok',
      'kernel: tbf': 'ok',
      'kernel: NFQUEUE': 'ok',
      'iptables backend': 'ok',
      'network conditions backend': 'ok',
    });
  });

  it('neither netem nor NFQUEUE: both fail', () => {
    const s = status('netem=2\nhtb=0\ntbf=0\nnfqueue=1\niptables=iptables v1.8.9 (nf_tables)\n');
    expect(s['kernel: netem']).toBe('fail');
    expect(s['kernel: NFQUEUE']).toBe('fail');
    expect(s['network conditions backend']).toBe('fail');
  });

  it.each([
    ['netem=0\nnfqueue=0\n', /^netem/],
    ['netem=2\nnfqueue=0\n', /^userspace/],
    ['netem=2\nnfqueue=1\n', /^none/],
  ])('names the backend a lab gets (%j)', (out, detail) => {
    const line = kernelChecks(parseKernelProbe(out)).find((c) => c.name === 'network conditions backend');
    expect(line?.detail).toMatch(detail);
  });

  it('netem without NFQUEUE is fine (netem is the first choice)', () => {
    const s = status('netem=0\nhtb=0\ntbf=0\nnfqueue=1\niptables=iptables v1.8.9 (legacy)\n');
    expect(s['kernel: netem']).toBe('ok');
    expect(s['kernel: NFQUEUE']).toBe('warn');
  });
});
