/**
 * The one kernel probe: which network-emulation features does this kernel have, and so which
 * backend does a lab get? netem if `tc qdisc add … netem` works (users' Linux and Docker
 * Desktop), else userspace if NFQUEUE works (kernels without sch_netem). Each feature is tried for
 * real on the namespace's own loopback and removed at once; it runs wherever there is a network
 * namespace with NET_ADMIN: a node's sidecar, or doctor's throwaway container.
 */
import { AcklabError } from '../common/index.js';
import type { Backend } from './model.js';

export interface ExecLike {
  exitCode: number;
  stdout: string;
  stderr: string;
}
export type RunArgv = (argv: readonly string[]) => Promise<ExecLike>;

export interface KernelSupport {
  netem: boolean;
  htb: boolean;
  tbf: boolean;
  nfqueue: boolean;
  /** `nf_tables`, `legacy`, or `unknown` (from `iptables -V`). */
  iptablesBackend: 'nf_tables' | 'legacy' | 'unknown';
  /** What each probe printed (stderr of a failed one, `iptables -V`), for doctor --json and bug reports. */
  raw: Record<string, string>;
}

export interface BackendProbe {
  backend: Backend;
  /** One line for doctor, `impair` and run records: why this backend. */
  reason: string;
}

// A rule that can never match real traffic (lo, UDP port 9 "discard", a queue nobody uses); bypass so it cannot drop.
const NFQUEUE_RULE = ['-t', 'mangle', 'OUTPUT', '-o', 'lo', '-p', 'udp', '--dport', '9', '-j', 'NFQUEUE', '--queue-num', '65000', '--queue-bypass'];
const nfqueue = (op: '-A' | '-D') => ['iptables', '-w', NFQUEUE_RULE[0]!, NFQUEUE_RULE[1]!, op, ...NFQUEUE_RULE.slice(2)];

/** Each feature: the command that adds it on lo, and the one that removes it again (tc-netem(8), tc-htb(8), tc-tbf(8)). */
export const KERNEL_PROBES: readonly { feature: 'netem' | 'htb' | 'tbf' | 'nfqueue'; add: string[]; remove: string[] }[] = [
  { feature: 'netem', add: ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', 'acc:', 'netem', 'delay', '0ms'], remove: ['tc', 'qdisc', 'del', 'dev', 'lo', 'root'] },
  { feature: 'htb', add: ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', 'acc:', 'htb', 'default', '1'], remove: ['tc', 'qdisc', 'del', 'dev', 'lo', 'root'] },
  {
    feature: 'tbf',
    add: ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', 'acc:', 'tbf', 'rate', '1mbit', 'burst', '32kbit', 'latency', '50ms'],
    remove: ['tc', 'qdisc', 'del', 'dev', 'lo', 'root'],
  },
  { feature: 'nfqueue', add: nfqueue('-A'), remove: nfqueue('-D') },
];

/** Tries every feature in turn (they share lo's root qdisc, so one at a time). */
export async function probeKernel(run: RunArgv): Promise<KernelSupport> {
  const raw: Record<string, string> = {};
  const found: Record<string, boolean> = {};
  for (const probe of KERNEL_PROBES) {
    const r = await run(probe.add);
    found[probe.feature] = r.exitCode === 0;
    raw[probe.feature] = r.exitCode === 0 ? 'ok' : `exit ${r.exitCode}: ${firstLine(r.stderr)}`;
    if (r.exitCode === 0) await run(probe.remove);
  }
  const version = await run(['iptables', '-V']);
  raw.iptables = version.stdout.trim() || firstLine(version.stderr);
  return {
    netem: found.netem === true,
    htb: found.htb === true,
    tbf: found.tbf === true,
    nfqueue: found.nfqueue === true,
    iptablesBackend: /nf_tables/.test(raw.iptables) ? 'nf_tables' : /legacy/.test(raw.iptables) ? 'legacy' : 'unknown',
    raw,
  };
}

/** netem first; htb + NFQUEUE (acklab-nfq) next; neither: an error that says what is missing. */
export function chooseBackend(k: KernelSupport): BackendProbe {
  if (k.netem) return { backend: 'netem', reason: 'the kernel has sch_netem (tc qdisc … netem works)' };
  if (k.nfqueue) return { backend: 'userspace', reason: `no sch_netem in this kernel (tc: "${k.raw.netem ?? '?'}"); using NFQUEUE + acklab-nfq, htb for rate` };
  throw new AcklabError(
    `neither backend works on this kernel: no sch_netem (tc: "${k.raw.netem ?? '?'}") and no NFQUEUE (iptables: "${k.raw.nfqueue ?? '?'}"); ` +
      'modprobe sch_netem, or modprobe nfnetlink_queue xt_NFQUEUE',
  );
}

export async function probeBackend(run: RunArgv): Promise<BackendProbe> {
  return chooseBackend(await probeKernel(run));
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
