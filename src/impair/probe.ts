/**
 * Which backend does this kernel get? netem if `tc qdisc add … netem` works (users' Linux and
 * Docker Desktop), else userspace if NFQUEUE works (this machine and its CI). Run inside a
 * network namespace with NET_ADMIN: a node's sidecar, or a throwaway probe container.
 */
import { AcklabError } from '../common/index.js';
import type { Backend } from './model.js';
import { NETEM_PROBE } from './tc.js';

export interface ExecLike {
  exitCode: number;
  stdout: string;
  stderr: string;
}
export type RunArgv = (argv: readonly string[]) => Promise<ExecLike>;

export interface BackendProbe {
  backend: Backend;
  /** One line for doctor, `impair` and run records: why this backend. */
  reason: string;
}

// A rule that can never match real traffic (lo, UDP port 9 "discard", a queue nobody uses); bypass so it cannot drop.
const NFQUEUE_PROBE = ['-t', 'mangle', 'OUTPUT', '-o', 'lo', '-p', 'udp', '--dport', '9', '-j', 'NFQUEUE', '--queue-num', '65000', '--queue-bypass'];
const nfqueueRule = (op: '-A' | '-D') => ['iptables', '-w', NFQUEUE_PROBE[0]!, NFQUEUE_PROBE[1]!, op, ...NFQUEUE_PROBE.slice(2)];

export async function probeBackend(run: RunArgv): Promise<BackendProbe> {
  const add = await run(NETEM_PROBE[0]!);
  if (add.exitCode === 0) {
    await run(NETEM_PROBE[1]!);
    return { backend: 'netem', reason: 'the kernel has sch_netem (tc qdisc … netem works)' };
  }
  const tcSays = add.stderr.trim().split('\n')[0] ?? '';
  if (!/unknown|not supported|No such file/i.test(add.stderr)) {
    throw new AcklabError(`cannot probe the network backend: ${NETEM_PROBE[0]!.join(' ')} failed: ${tcSays || `exit ${add.exitCode}`}`);
  }
  const nfq = await run(nfqueueRule('-A'));
  if (nfq.exitCode !== 0) {
    throw new AcklabError(
      `neither backend works on this kernel: no sch_netem (tc: "${tcSays}") and no NFQUEUE (iptables: "${nfq.stderr.trim()}")`,
    );
  }
  await run(nfqueueRule('-D'));
  return { backend: 'userspace', reason: `no sch_netem in this kernel (tc: "${tcSays}"); using NFQUEUE + acklab-nfq, htb for rate` };
}
