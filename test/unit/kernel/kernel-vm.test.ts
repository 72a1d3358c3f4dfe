/**
 * The pure parts of the kernel VM test (test/kernel/): the glue that drives the nodes' agents and
 * records their commands per namespace, the backend probe replay, the VM script, the initramfs
 * format and the read-back parsing. The VM run itself is test/kernel/netem-vm.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { IPTABLES_RESTORE, chainSetup, helperPidfile, helperSeed, helperStart, helperStop, tcRoot, tcStageClass } from '../../../src/impair/index.js';
import { defaultClassCounters, wireBps } from '../../kernel/checks.js';
import { VM_TOOLS, vmModules } from '../../kernel/kernel-vm.js';
import { type NsStep, PlannedLab, acklabRules, backendProbeSteps, chooseBackend, condition, partitionOf } from '../../kernel/plan.js';
import { kernelScenario } from '../../kernel/scenario.js';
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
const run = (ns: string, argv: readonly string[]): NsStep => ({ kind: 'run', ns, argv: [...argv] });
const isRestore = (s: NsStep) => s.kind === 'run' && s.argv.join(' ') === IPTABLES_RESTORE.join(' ');
const text = (s: NsStep) => (s.kind === 'spawn' ? `spawn ${s.argv.join(' ')}` : `${s.argv.join(' ')}${s.stdin ? `\n${s.stdin}` : ''}`);

describe('PlannedLab: the agents\' own commands per namespace', () => {
  it('impair: the agent hooks its chains, builds a class per destination, then switches with one add-only batch', async () => {
    const steps = await lab('netem').impair([condition('a', 'b1', { delay: '50ms' }), condition('a', 'b2', { rate: '1mbit' })]);
    const b1 = condition('a', 'b1', { delay: '50ms' }).impairment;
    const b2 = condition('a', 'b2', { rate: '1mbit' }).impairment;
    expect(steps.slice(0, -1)).toEqual(
      [...chainSetup(), ...tcRoot('eth0'), ...tcStageClass('eth0', 0x10, b1, 'netem'), ...tcStageClass('eth0', 0x11, b2, 'netem')].map((argv) => run('na', argv)),
    );
    const batch = steps.at(-1)!;
    expect(isRestore(batch)).toBe(true);
    expect(batch.kind === 'run' && batch.stdin).toMatch(/-A ACKLAB-IMPAIR-1 ! -o lo -d 10\.77\.0\.11\/32 -m comment --comment "acklab impair to=b1 delay=50ms" -j CLASSIFY --set-class 1:10\n/);
    expect(batch.kind === 'run' && batch.stdin).toContain('-I ACKLAB-IMPAIR 1 -g ACKLAB-IMPAIR-1\n');
    // Every command must succeed: a failure ends the VM's section and names the argv.
    expect(steps.every((s) => s.kind === 'spawn' || !s.tolerant)).toBe(true);
  });

  it('userspace: a helper per destination, waited on by its pidfile, before the batch that queues to it', async () => {
    const loss = condition('a', 'b1', { delay: '10ms', loss: '1%' });
    const steps = await lab('userspace').impair([loss]);
    const spawn = steps.findIndex((s) => s.kind === 'spawn');
    expect(steps[spawn]).toEqual({ kind: 'spawn', ns: 'na', argv: helperStart(100, loss.impairment, helperSeed(7, 'a', 'b1')), readyPidfile: helperPidfile(100) });
    const batch = steps.findIndex(isRestore);
    expect(batch).toBeGreaterThan(spawn);
    expect(text(steps[batch]!)).toContain('-j NFQUEUE --queue-num 100');
    // no rate: no tc tree at all on this backend
    expect(steps.some((s) => s.argv[0] === 'tc')).toBe(false);
  });

  it('a second impair builds the new stage before the switch and stops the old one after it; the unchanged peer keeps its helper', async () => {
    const l = lab('userspace');
    await l.impair([condition('a', 'b1', { delay: '10ms' }), condition('a', 'b2', { loss: '5%' })]);
    const steps = (await l.impair([condition('a', 'b1', { delay: '20ms' })])).map(text);
    const spawn = steps.findIndex((s) => s.startsWith('spawn acklab-nfq --queue 102 '));
    const batches = steps.flatMap((s, i) => (s.startsWith(IPTABLES_RESTORE.join(' ')) ? [i] : []));
    const stop = steps.indexOf(helperStop(100).join(' '));
    expect(spawn).toBeGreaterThanOrEqual(0);
    expect(batches).toHaveLength(2); // the switch, then the tidy that deletes the old generation
    expect(spawn).toBeLessThan(batches[0]!);
    expect(steps[batches[1]!]).toContain('-X ACKLAB-IMPAIR-1');
    expect(stop).toBeGreaterThan(batches[1]!);
    expect(steps.filter((s) => s.startsWith('spawn'))).toHaveLength(1);
    expect(steps.join('\n')).not.toContain(helperStop(101).join(' '));
  });

  it('partition: each node hooks its own chains once and holds its side of every cut', async () => {
    const l = new PlannedLab({ nodes, nsOf: { a: 'na', b1: 'nb', b2: 'nc' }, devices: {} }, 'netem', 7);
    const steps = await l.partition(partitionOf(['a'], ['b1', 'b2']));
    expect(steps.filter((s) => s.argv.includes('-N')).map((s) => `${s.ns} ${s.argv.at(-1)}`)).toEqual(
      ['na', 'nb', 'nc'].flatMap((ns) => [`${ns} ACKLAB-IMPAIR`, `${ns} ACKLAB-PART-OUT`, `${ns} ACKLAB-PART-IN`]),
    );
    const batchOf = (ns: string) => steps.filter((s) => s.ns === ns && isRestore(s)).map(text)[0]!;
    expect(batchOf('na')).toMatch(/-A ACKLAB-PART-OUT-1 -d 10\.77\.0\.11\/32 -m comment --comment "acklab cut a->b1 drop" -j DROP/);
    expect(batchOf('na')).toMatch(/-A ACKLAB-PART-IN-1 -s 10\.77\.0\.12\/32 -m comment --comment "acklab cut b2->a drop" -j DROP/);
    expect(batchOf('nb')).toMatch(/-A ACKLAB-PART-IN-1 -s 10\.77\.0\.1\/32 .*"acklab cut a->b1 drop" -j DROP/);
  });

  it('refuses two nodes holding conditions in one namespace (an agent owns its namespace\'s chains)', async () => {
    await expect(lab('netem').partition(partitionOf(['a'], ['b1', 'b2']))).rejects.toThrow(/nodes "b1" and "b2" share namespace "nb"/);
  });

  it('heal: an empty generation switched in, then helpers stopped, classes and the root deleted; a second heal only switches', async () => {
    const l = lab('userspace');
    await l.impair([condition('a', 'b1', { delay: '10ms', rate: '1mbit' })]);
    await l.partition(partitionOf(['a'], ['b1']));
    const steps = (await l.heal()).map(text);
    expect(steps.filter((s) => !s.startsWith(IPTABLES_RESTORE.join(' ')))).toEqual([helperStop(100).join(' '), 'tc class del dev eth0 classid 1:10', 'tc qdisc del dev eth0 root']);
    const again = await l.heal();
    expect(again.every(isRestore)).toBe(true);
    expect(new Set(again.map((s) => s.ns))).toEqual(new Set(['na', 'nb']));
  });

  it('reads back what `acklab conditions` reads, each under its capture id', () => {
    expect(lab('netem').readBack('a', 'x').map((s) => s.kind === 'run' && `${s.capture} ${s.argv.join(' ')}`)).toEqual([
      'x.tc.eth0.0 tc -s qdisc show dev eth0',
      'x.tc.eth0.1 tc -s class show dev eth0',
      'x.rules iptables-save -c',
      'x.queues cat /proc/net/netfilter/nfnetlink_queue',
    ]);
  });
});

describe('the whole scenario', () => {
  const scenario = kernelScenario(['netem', 'userspace']);

  it('uses only tools the VM has, and every helper is waited on by the pidfile its argv names', async () => {
    const { sections } = await scenario;
    sections.forEach((sec, i) => expect(() => sectionScript(sec, i, VM_TOOLS)).not.toThrow());
    const spawns = sections.flatMap((s) => s.steps).filter((s) => s.kind === 'spawn');
    expect(spawns.length).toBeGreaterThan(0);
    for (const s of spawns) expect(s.argv[s.argv.indexOf('--pidfile') + 1]).toBe(s.readyPidfile);
  });

  it('loads a module for every iptables match and target its rules use', async () => {
    const { sections } = await scenario;
    const rules = sections.flatMap((s) => s.steps).flatMap((s) => (s.kind === 'run' && s.argv[0]?.startsWith('iptables') ? [s.argv.join(' '), s.stdin ?? ''] : []));
    const used = new Set(rules.flatMap((r) => [...r.matchAll(/-m (\S+)|-j ([A-Z]+)\b(?!-)/g)].map((m) => m[1] ?? m[2]!)));
    const builtIn = new Set(['DROP', 'RETURN', 'ACCEPT']);
    expect([...used].sort()).toEqual(['CLASSIFY', 'DROP', 'NFQUEUE', 'RETURN', 'comment', 'mark']);
    const modules = vmModules('nft');
    for (const u of [...used].filter((x) => !builtIn.has(x))) expect(modules.some((m) => m === `xt_${u}` || m === `ipt_${u}`), `no module for ${u}`).toBe(true);
  });
});

describe('read-back of the rules in force', () => {
  it('resolves the gotos to the current generation, and lists the generations still there', () => {
    const save = [
      '*mangle',
      ':ACKLAB-IMPAIR - [0:0]',
      ':ACKLAB-IMPAIR-3 - [0:0]',
      ':ACKLAB-IMPAIR-4 - [0:0]',
      '[0:0] -A POSTROUTING -j ACKLAB-IMPAIR',
      '[0:0] -A ACKLAB-IMPAIR -g ACKLAB-IMPAIR-4',
      '[0:0] -A ACKLAB-IMPAIR -g ACKLAB-IMPAIR-3',
      '[5:300] -A ACKLAB-IMPAIR-3 ! -o lo -d 10.77.0.11/32 -m comment --comment "acklab impair to=b1 delay=1ms" -j CLASSIFY --set-class 1:10',
      '[7:420] -A ACKLAB-IMPAIR-4 ! -o lo -d 10.77.0.11/32 -m comment --comment "acklab impair to=b1 delay=2ms" -j CLASSIFY --set-class 1:12',
      'COMMIT',
    ].join('\n');
    expect(acklabRules(save)).toEqual({
      inForce: ['[7:420] -A ACKLAB-IMPAIR ! -o lo -d 10.77.0.11/32 -m comment --comment "acklab impair to=b1 delay=2ms" -j CLASSIFY --set-class 1:12'],
      generations: [3, 4],
    });
    expect(acklabRules(save.replace(/.*ACKLAB-IMPAIR-[34] !.*\n/g, ''))).toEqual({ inForce: [], generations: [3, 4] });
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
