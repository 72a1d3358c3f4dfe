/**
 * What acklab puts into the kernel VM and how it gets there: prerequisites (scripts/ensure-kernel-vm.sh),
 * the two C programs compiled on the host (vmprobe statically; acklab-nfq with the shaper's own
 * Makefile and its shared libraries), the host's tc / ip / iptables with their libraries and
 * plugins, and the kernel modules the two backends load.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Initramfs } from './vm/initramfs.js';
import { type KernelTree, kernelTree } from './vm/kernel.js';
import { VM_PROBE, type VmImage } from './vm/runner.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

export type Readiness = { ok: true; kernel: KernelTree; notes: string[] } | { ok: false; reason: string };

/**
 * Runs the ensure script (installs what is missing where it may, fetches the kernel once) and
 * turns its answer into a kernel, or a reason to skip. Its progress goes to `log`.
 */
export async function ensureKernelVm(log: (line: string) => void = () => {}): Promise<Readiness> {
  const script = path.join(ROOT, 'scripts/ensure-kernel-vm.sh');
  let stdout = '';
  let stderr = '';
  try {
    ({ stdout, stderr } = await run(script, [], { cwd: ROOT, maxBuffer: 1 << 24, timeout: 600_000 }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number };
    stdout = e.stdout ?? '';
    stderr = e.stderr ?? '';
    for (const l of stderr.split('\n').filter(Boolean)) log(l);
    const cannot = /ensure-kernel-vm: cannot: (.*)/.exec(stdout);
    if (e.code === 3 && cannot) return { ok: false, reason: cannot[1]! };
    throw new Error(`scripts/ensure-kernel-vm.sh failed (exit ${e.code}): ${(stderr || stdout).trim().split('\n').slice(-5).join(' | ')}`);
  }
  const notes = stderr.split('\n').filter(Boolean);
  for (const l of notes) log(l);
  const ready = /ensure-kernel-vm: ready: (.*)/.exec(stdout);
  if (!ready) throw new Error(`scripts/ensure-kernel-vm.sh said neither ready nor cannot: ${stdout.trim()}`);
  if (!existsSync('/dev/kvm') && !process.env.ACKLAB_VM_ACCEL) notes.push('no /dev/kvm: software emulation (TCG)');
  return { ok: true, kernel: kernelTree(ready[1]!.trim()), notes };
}

/** Modules per backend (dependencies are resolved from the modules themselves). */
export const MODULES = {
  // The htb tree (a class per stage, a netem leaf on the netem backend); no tc filters: CLASSIFY picks the class.
  netem: ['veth', 'sch_htb', 'sch_netem'],
  // iptables-nft (Debian's default `iptables`): nf_tables needs libcrc32c, whose crc32c comes from
  // crc32c_generic — a soft dependency modinfo does not list, and no modprobe in the VM to find it.
  // Matches and targets it does not translate to native nft expressions go through nft_compat.
  iptablesNft: ['crc32c_generic', 'nf_tables', 'nft_compat'],
  iptablesLegacy: ['ip_tables', 'iptable_filter', 'iptable_mangle'],
  // The matches and targets the agent's rules use (src/impair/iptables.ts): comment (the condition's
  // record), CLASSIFY (the stage's class), mark (the helper's duplicates), NFQUEUE, tcp/udp (reset-style
  // cuts, the probe's rule) and REJECT (reset-style cuts).
  xt: ['xt_comment', 'xt_CLASSIFY', 'xt_mark', 'xt_NFQUEUE', 'xt_tcpudp', 'ipt_REJECT'],
  userspace: ['nfnetlink_queue'],
} as const;

export type IptablesFlavour = 'nft' | 'legacy';

export function vmModules(flavour: IptablesFlavour): string[] {
  return [
    ...MODULES.netem,
    ...(flavour === 'nft' ? MODULES.iptablesNft : MODULES.iptablesLegacy),
    ...MODULES.xt,
    ...MODULES.userspace,
  ];
}

export interface CompiledTools {
  dir: string;
  vmprobe: string;
  helper: string;
  dispose(): void;
}

/** vmprobe (static) and acklab-nfq (the shaper's Makefile, built out of tree) into a temp folder. */
export async function compileTools(): Promise<CompiledTools> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'acklab-kvm-bin-'));
  const dispose = () => rmSync(dir, { recursive: true, force: true });
  try {
    const vmprobe = path.join(dir, 'vmprobe');
    await run('cc', ['-static', '-O2', '-Wall', '-Wextra', '-o', vmprobe, path.join(ROOT, 'test/kernel/vmprobe.c'), '-lm']);
    const helperSrc = path.join(ROOT, 'docker/shaper/helper');
    await run('make', ['-s', '-C', dir, '-f', path.join(helperSrc, 'Makefile'), `VPATH=${helperSrc}`, 'acklab-nfq']);
    return { dir, vmprobe, helper: path.join(dir, 'acklab-nfq'), dispose };
  } catch (err) {
    dispose();
    const e = err as { stderr?: string; message: string };
    throw new Error(`compiling the VM tools failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

function findHost(candidates: string[]): string {
  const hit = candidates.find((c) => existsSync(c));
  if (!hit) throw new Error(`none of ${candidates.join(', ')} exists on this host`);
  return hit;
}

/** Paths of the tools inside the VM (what the agent's argv[0] names become). */
export const VM_TOOLS = {
  tc: '/usr/sbin/tc',
  ip: '/usr/sbin/ip',
  iptables: '/usr/sbin/iptables',
  'iptables-save': '/usr/sbin/iptables-save',
  'iptables-restore': '/usr/sbin/iptables-restore',
  'acklab-nfq': '/usr/local/bin/acklab-nfq',
  // Read-back commands the agent runs (e.g. `cat /proc/net/netfilter/nfnetlink_queue`): busybox's.
  cat: '/usr/bin/cat',
} as const;

export function acklabVmImage(kernel: KernelTree, tools: CompiledTools, flavour: IptablesFlavour = 'nft'): VmImage {
  return {
    kernel,
    modules: vmModules(flavour),
    tools: VM_TOOLS,
    populate(img: Initramfs) {
      const busybox = findHost(['/bin/busybox', '/usr/bin/busybox']);
      if (!/not a dynamic executable|statically linked/.test(lddText(busybox))) throw new Error(`${busybox} is not static (install busybox-static)`);
      img.hostFile(busybox, '/usr/bin/busybox', 0o755);
      img.symlink(VM_TOOLS.cat, 'busybox');
      const tc = findHost(['/usr/sbin/tc', '/sbin/tc']);
      const ip = findHost(['/usr/sbin/ip', '/sbin/ip', '/bin/ip']);
      const multi = findHost(flavour === 'nft' ? ['/usr/sbin/xtables-nft-multi', '/sbin/xtables-nft-multi'] : ['/usr/sbin/xtables-legacy-multi', '/sbin/xtables-legacy-multi']);
      const libxtables = libDirOf(multi, 'libxtables.so');
      // iptables loads its matches and targets (libxt_comment.so, libxt_NFQUEUE.so, …) with dlopen: ldd cannot see them.
      const plugins = img.hostDir(path.join(libxtables, 'xtables'), (n) => n.endsWith('.so'));
      img.elves([
        { host: tc, at: VM_TOOLS.tc },
        { host: ip, at: VM_TOOLS.ip },
        { host: multi, at: `/usr/sbin/${path.basename(multi)}` },
        { host: tools.helper, at: VM_TOOLS['acklab-nfq'] },
        { host: tools.vmprobe, at: VM_PROBE },
        ...plugins.map((p) => ({ host: p })),
      ]);
      // The multi-call binary picks iptables / iptables-save / iptables-restore by its argv[0].
      for (const name of ['iptables', 'iptables-save', 'iptables-restore']) img.symlink(`/usr/sbin/${name}`, path.basename(multi));
      // tc's netem reads its delay distributions (normal, pareto, …) from these tables.
      const dist = findHost([path.join(libxtables, 'tc'), '/usr/lib/tc', '/usr/lib64/tc']);
      for (const f of img.hostDir(dist, (n) => n.endsWith('.dist'))) img.hostFile(f);
    },
  };
}

function lddText(file: string): string {
  try {
    return execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

/** The folder holding `lib` as `file`'s loader resolves it (e.g. /lib/x86_64-linux-gnu), folded onto /usr. */
function libDirOf(file: string, lib: string): string {
  const m = new RegExp(`${lib.replace(/\./g, '\\.')}\\S*\\s+=>\\s+(\\S+)`).exec(lddText(file));
  if (!m) throw new Error(`${file} does not link ${lib}`);
  const dir = path.dirname(m[1]!);
  const usr = dir.startsWith('/lib') ? `/usr${dir}` : dir;
  return existsSync(usr) ? usr : dir;
}
