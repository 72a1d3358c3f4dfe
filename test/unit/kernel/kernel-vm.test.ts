/**
 * The pure parts of the kernel VM test (test/kernel/): the glue that turns the controller's verbs
 * into per-namespace argv, the backend probe replay, the VM script, the initramfs format and the
 * read-back parsing. The VM run itself is test/kernel/netem-vm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { planImpairments } from '../../../src/impair/index.js';
import { defaultClassCounters, wireBps } from '../../kernel/checks.js';
import { PlannedLab, backendProbeSteps, chooseBackend, condition, partitionOf } from '../../kernel/plan.js';
import { Initramfs, imagePath } from '../../kernel/vm/initramfs.js';
import { moduleDepends } from '../../kernel/vm/kernel.js';
import { initScript, parseLines, sectionScript, stdinFiles } from '../../kernel/vm/runner.js';

const nodes = [
  { name: 'a', addresses: ['10.77.0.1'] },
  { name: 'b1', addresses: ['10.77.0.11'] },
  { name: 'b2', addresses: ['10.77.0.12'] },
];
const lab = (backend: 'netem' | 'userspace') =>
  new PlannedLab({ nodes, nsOf: { a: 'na', b1: 'nb', b2: 'nb' }, devices: { a: ['eth0'], b1: ['eth0'], b2: ['eth0'] } }, backend, 7);

describe('PlannedLab: the controller verbs as per-namespace argv', () => {
  it('impair sends exactly what planImpairments plans, in its order, in the node namespace', () => {
    const conds = [condition('a', 'b1', { delay: '50ms' }), condition('a', 'b2', { rate: '1mbit' })];
    const plan = planImpairments(conds, nodes, ['eth0'], 'netem', 7);
    expect(lab('netem').impair(conds)).toEqual([...plan.tc, ...plan.iptables].map((argv) => ({ kind: 'run', ns: 'na', argv })));
  });

  it('userspace: helpers are spawned first and waited on by their pidfile', () => {
    const steps = lab('userspace').impair([condition('a', 'b1', { delay: '10ms', loss: '1%' })]);
    expect(steps[0]).toMatchObject({ kind: 'spawn', ns: 'na', readyPidfile: '/run/acklab-nfq/100.pid' });
    expect(steps[0]!.argv.slice(0, 3)).toEqual(['acklab-nfq', '--queue', '100']);
    expect(steps.slice(1).every((s) => s.kind === 'run')).toBe(true);
  });

  it('a second impair first tears the node set down (tolerantly), keeping the other peer', () => {
    const l = lab('userspace');
    l.impair([condition('a', 'b1', { delay: '10ms' }), condition('a', 'b2', { loss: '5%' })]);
    const steps = l.impair([condition('a', 'b1', { delay: '20ms' })]);
    const firstApply = steps.findIndex((s) => s.kind === 'spawn');
    expect(steps.slice(0, firstApply).every((s) => s.kind === 'run' && s.tolerant)).toBe(true);
    expect(steps.slice(0, firstApply).map((s) => s.argv.join(' '))).toContain('acklab-nfq --stop /run/acklab-nfq/101.pid');
    // b2's loss is kept: two helpers again
    expect(steps.filter((s) => s.kind === 'spawn')).toHaveLength(2);
  });

  it('partition sets the chains up once per namespace, even for two nodes sharing it', () => {
    const steps = lab('netem').partition(partitionOf(['a'], ['b1', 'b2']));
    const setups = steps.filter((s) => s.argv.includes('-N'));
    expect(setups.map((s) => `${s.ns} ${s.argv.at(-1)}`)).toEqual(['na ACKLAB-PART-OUT', 'na ACKLAB-PART-IN', 'nb ACKLAB-PART-OUT', 'nb ACKLAB-PART-IN']);
  });

  it('heal removes impairments and partition chains, every command tolerant', () => {
    const l = lab('netem');
    l.impair([condition('a', 'b1', { delay: '10ms' })]);
    l.partition(partitionOf(['a'], ['b1']));
    const steps = l.heal();
    expect(steps.every((s) => s.kind === 'run' && s.tolerant)).toBe(true);
    expect(steps.map((s) => s.argv.join(' '))).toEqual(expect.arrayContaining(['tc qdisc del dev eth0 root', 'iptables -w -X ACKLAB-PART-OUT']));
    expect(l.heal()).toEqual([]);
  });
});

describe('backend probe replay', () => {
  it.each([
    ['a kernel with netem', 0, 'netem'],
    ['a kernel without netem', 2, 'userspace'],
  ] as const)('%s → %s', async (_, netemRc, backend) => {
    const { steps, ids } = await backendProbeSteps('na', 'probe');
    expect(steps.every((s) => s.kind === 'run' && s.capture?.startsWith('probe.'))).toBe(true);
    const first = steps[0]!.capture!;
    const answer = (id: string) =>
      id === first && netemRc !== 0 ? { rc: netemRc, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.' } : { rc: 0, stdout: '', stderr: '' };
    expect((await chooseBackend(ids, answer)).backend).toBe(backend);
  });
});

describe('the VM script', () => {
  const tools = { tc: '/usr/sbin/tc', iptables: '/usr/sbin/iptables' };

  it('runs real tools by absolute path, quoted, in their namespace', () => {
    const sh = sectionScript({ name: 'netem', steps: [{ kind: 'run', ns: 'na', argv: ['iptables', '-m', 'comment', '--comment', "it's"] }] }, 0, tools);
    expect(sh).toContain(`$P run --ns na --id 'netem#1' -- '/usr/sbin/iptables' '-m' 'comment' '--comment' 'it'\\''s' || return 1`);
  });

  it('feeds a step its stdin from a file in the image (an iptables-restore batch)', () => {
    const script = { sections: [{ name: 's', steps: [{ kind: 'run' as const, ns: 'na', argv: ['iptables-restore', '--noflush'], stdin: '*mangle\nCOMMIT\n' }] }] };
    expect(sectionScript(script.sections[0]!, 0, { 'iptables-restore': '/usr/sbin/iptables-restore' })).toContain(`--stdin /stdin/0-1 -- '/usr/sbin/iptables-restore' '--noflush'`);
    expect([...stdinFiles(script)]).toEqual([['/stdin/0-1', '*mangle\nCOMMIT\n']]);
  });

  it('refuses a command the VM does not have', () => {
    expect(() => sectionScript({ name: 's', steps: [{ kind: 'run', argv: ['nft', 'list'] }] }, 0, tools)).toThrow(/no tool "nft"/);
  });

  it('asks the host after a measurement when re-measuring is on, and not for a once-only one', () => {
    const m = { kind: 'measure', id: 'x:d1', ns: 'na', probe: 'udp', to: '10.0.0.2', count: 200 } as const;
    const sh = sectionScript({ name: 's', steps: [m, { ...m, id: 'x:warm', once: true }] }, 0, tools, 3);
    expect(sh).toContain(`$P ask --section 's' --id 'x:d1' --since "$t" $last && break`);
    expect(sh).toContain(`last=; [ "$n" -lt 3 ] || last=--last`);
    expect(sh).not.toContain(`ask --id 'x:warm'`);
  });

  it('/init loads modules in order and powers off', () => {
    const init = initScript({ sections: [] }, ['veth', 'sch_netem'], tools);
    expect(init.indexOf('insmod /lib/modules/vm/veth.ko')).toBeLessThan(init.indexOf('insmod /lib/modules/vm/sch_netem.ko'));
    expect(init.trimEnd().endsWith('/bin/busybox poweroff -f')).toBe(true);
  });

  it('reads result lines wherever they sit on the console', () => {
    expect(parseLines('[ 1.2] noise\n@@acklab-vm@@ {"kind":"udp","id":"a"}\r\nx@@acklab-vm@@ {bad\n')).toEqual([
      { kind: 'udp', id: 'a' },
      { kind: 'garbled', text: '@@acklab-vm@@ {bad' },
    ]);
  });
});

describe('initramfs (newc cpio)', () => {
  it('folds /lib, /bin, /sbin onto /usr', () => {
    expect(['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2', '/sbin/tc', '/usr/sbin/ip'].map(imagePath)).toEqual([
      '/usr/lib/x86_64-linux-gnu/libc.so.6',
      '/usr/lib64/ld-linux-x86-64.so.2',
      '/usr/sbin/tc',
      '/usr/sbin/ip',
    ]);
  });

  it('writes parents before children, 4-byte aligned, and a trailer', () => {
    const buf = new Initramfs().file('/usr/local/bin/x', 'hello', 0o755).toBuffer();
    const text = buf.toString('latin1');
    const names = [...text.matchAll(/070701[0-9a-f]{104}([^\0]+)\0/g)].map((m) => m[1]);
    expect(names.indexOf('usr/local')).toBeLessThan(names.indexOf('usr/local/bin'));
    expect(names.indexOf('usr/local/bin')).toBeLessThan(names.indexOf('usr/local/bin/x'));
    expect(names.at(-1)).toBe('TRAILER!!!');
    expect(names).toContain('dev/console');
    expect(buf.length % 4).toBe(0);
  });
});

describe('read-back parsing', () => {
  it('takes a module dependency list from its .modinfo', () => {
    expect(moduleDepends(Buffer.from('\0license=GPL\0depends=nf_tables,nfnetlink,x_tables\0vermagic=6.1\0'))).toEqual(['nf_tables', 'nfnetlink', 'x_tables']);
    expect(moduleDepends(Buffer.from('\0depends=\0'))).toEqual([]);
  });

  it("finds the default class's counters in tc -s class show", () => {
    const show = [
      'class htb 1:10 root leaf 10: prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b ',
      ' Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) ',
      'class htb 1:1 root prio 0 rate 10Gbit ceil 10Gbit burst 0b cburst 0b ',
      ' Sent 362715702 bytes 241768 pkt (dropped 0, overlimits 6460 requeues 0) ',
    ].join('\n');
    expect(defaultClassCounters(show)).toEqual({ burst: '0b', pkts: 241768, overlimits: 6460 });
  });

  it('counts whole frames for the on-wire rate', () => {
    expect(wireBps({ kind: 'tput', goodputBps: 1448e3, mss: 1448 })).toBeCloseTo(1514e3);
  });
});
