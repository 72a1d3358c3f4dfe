import { describe, expect, it } from 'vitest';
import { kernelChecks, runDoctor } from '../../../src/doctor/index.js';
import type { KernelSupport } from '../../../src/impair/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const support = (missing: string[], iptables: KernelSupport['iptablesBackend'] = 'nf_tables'): KernelSupport => ({
  netem: !missing.includes('netem'),
  htb: !missing.includes('htb'),
  tbf: !missing.includes('tbf'),
  nfqueue: !missing.includes('nfqueue'),
  iptablesBackend: iptables,
  raw: Object.fromEntries(missing.map((f) => [f, 'exit 2: Error: Specified qdisc kind is unknown.'])),
});

describe('kernelChecks', () => {
  const status = (missing: string[]) => Object.fromEntries(kernelChecks(support(missing)).map((c) => [c.name, c.status]));

  it('no netem but NFQUEUE: a warning, the lab can run (userspace helper)', () => {
    expect(status(['netem'])).toEqual({
      'kernel: netem': 'warn',
      'kernel: htb': 'ok',
      'kernel: tbf': 'ok',
      'kernel: NFQUEUE': 'ok',
      'iptables backend': 'ok',
      'network conditions backend': 'ok',
    });
  });

  it('neither netem nor NFQUEUE: both fail', () => {
    const s = status(['netem', 'nfqueue']);
    expect(s['kernel: netem']).toBe('fail');
    expect(s['kernel: NFQUEUE']).toBe('fail');
    expect(s['network conditions backend']).toBe('fail');
  });

  it.each([
    [[], /^netem/],
    [['netem'], /^userspace/],
    [['netem', 'nfqueue'], /^neither backend works/],
  ])('names the backend a lab gets (without %j)', (missing, detail) => {
    const line = kernelChecks(support(missing)).find((c) => c.name === 'network conditions backend');
    expect(line?.detail).toMatch(detail);
  });

  it('netem without NFQUEUE is fine (netem is the first choice)', () => {
    const s = status(['nfqueue']);
    expect(s['kernel: netem']).toBe('ok');
    expect(s['kernel: NFQUEUE']).toBe('warn');
  });
});

describe('runDoctor', () => {
  it('stops at the engine when none answers, saying how to start one', async () => {
    const rt = new FakeRuntime();
    rt.engine = { ...rt.engine, host: 'unix:///nowhere', facts: async () => Promise.reject(new Error('connect ENOENT /nowhere')) };
    const report = await runDoctor(rt);
    expect(report.ok).toBe(false);
    expect(report.checks).toEqual([{ name: 'engine', status: 'fail', detail: 'connect ENOENT /nowhere', fix: 'scripts/ensure-engine.sh (make lab / make test run it)' }]);
  });
});
