/**
 * `acklab doctor`: can the lab run here? Engine facts, base images, built images, and the kernel's
 * network-emulation support probed for real in a throwaway container (shaper image, NET_ADMIN,
 * no network: only its own loopback is touched).
 */
import type Docker from 'dockerode';
import { createLabels, errorMessage } from '../common/index.js';
import { dockerClient } from '../runtime/docker.js';
import { BOOTSTRAP_BASE, bootstrapReadiness, planImages, type ImagePlan } from '../images/index.js';
import { engineFacts, type EngineFacts } from './engine.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
}

export interface KernelSupport {
  netem: boolean;
  htb: boolean;
  tbf: boolean;
  nfqueue: boolean;
  /** `nf_tables`, `legacy`, or `unknown`. */
  iptablesBackend: string;
  /** The raw probe output, for `--json` and bug reports. */
  raw: Record<string, string>;
}

export interface DoctorReport {
  ok: boolean;
  engine?: EngineFacts;
  images?: ImagePlan[];
  kernel?: KernelSupport;
  checks: Check[];
}

/**
 * The probe: each feature is tried for real on the container's own loopback and reported as
 * `name=<exit code>`; the backend from `iptables -V`. tc and iptables changes die with the container.
 */
export const KERNEL_PROBE_SCRIPT = [
  'probe() { name=$1; shift; "$@" >/dev/null 2>&1; echo "$name=$?"; }',
  'probe netem tc qdisc add dev lo root handle 1: netem delay 1ms',
  'tc qdisc del dev lo root >/dev/null 2>&1',
  'probe htb tc qdisc add dev lo root handle 1: htb default 1',
  'tc qdisc del dev lo root >/dev/null 2>&1',
  'probe tbf tc qdisc add dev lo root handle 1: tbf rate 1mbit burst 32kbit latency 50ms',
  'tc qdisc del dev lo root >/dev/null 2>&1',
  'probe nfqueue iptables -w 5 -A OUTPUT -o lo -p udp --dport 9 -j NFQUEUE --queue-num 7 --queue-bypass',
  'echo "iptables=$(iptables -V 2>&1)"',
].join('\n');

/** Parses the probe's `name=value` lines (pure; unit-tested). */
export function parseKernelProbe(output: string): KernelSupport {
  const raw: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) raw[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const version = raw.iptables ?? '';
  return {
    netem: raw.netem === '0',
    htb: raw.htb === '0',
    tbf: raw.tbf === '0',
    nfqueue: raw.nfqueue === '0',
    iptablesBackend: /nf_tables/.test(version) ? 'nf_tables' : /legacy/.test(version) ? 'legacy' : 'unknown',
    raw,
  };
}

/** The verdict on the kernel: netem is first choice; htb/tbf + NFQUEUE (acklab-nfq) is the fallback. */
export function kernelChecks(k: KernelSupport): Check[] {
  const checks: Check[] = [];
  checks.push(
    k.netem
      ? { name: 'kernel: netem', status: 'ok', detail: 'sch_netem available (delay, jitter, loss in the kernel)' }
      : {
          name: 'kernel: netem',
          status: k.nfqueue ? 'warn' : 'fail',
          detail: `sch_netem missing (tc qdisc add … netem failed, exit ${k.raw.netem ?? '?'})`,
          fix: k.nfqueue
            ? 'none needed: delay/loss use the userspace helper acklab-nfq through NFQUEUE'
            : 'load the module (modprobe sch_netem) or use a kernel with CONFIG_NET_SCH_NETEM',
        },
  );
  checks.push(
    k.htb
      ? { name: 'kernel: htb', status: 'ok', detail: 'sch_htb available (rate limits)' }
      : { name: 'kernel: htb', status: 'warn', detail: 'sch_htb missing', fix: 'modprobe sch_htb (rate limits fall back to tbf)' },
  );
  checks.push(
    k.tbf
      ? { name: 'kernel: tbf', status: 'ok', detail: 'sch_tbf available' }
      : { name: 'kernel: tbf', status: k.htb ? 'warn' : 'fail', detail: 'sch_tbf missing', fix: 'modprobe sch_tbf' },
  );
  checks.push(
    k.nfqueue
      ? { name: 'kernel: NFQUEUE', status: 'ok', detail: 'iptables NFQUEUE target available (userspace impairments)' }
      : {
          name: 'kernel: NFQUEUE',
          status: k.netem ? 'warn' : 'fail',
          detail: 'NFQUEUE target missing',
          fix: 'modprobe nfnetlink_queue xt_NFQUEUE (or nft_queue)',
        },
  );
  checks.push({
    name: 'iptables backend',
    status: k.iptablesBackend === 'unknown' ? 'warn' : 'ok',
    detail: k.iptablesBackend === 'unknown' ? `could not tell (${k.raw.iptables ?? 'no output'})` : k.iptablesBackend,
  });
  // The same rule as src/impair/probe.ts applies to each lab: netem first, NFQUEUE + acklab-nfq next.
  checks.push(
    k.netem
      ? { name: 'network conditions backend', status: 'ok', detail: 'netem (htb tree with netem leaves, u32 filters per destination)' }
      : k.nfqueue
        ? { name: 'network conditions backend', status: 'ok', detail: 'userspace (no sch_netem: NFQUEUE + acklab-nfq, htb for rate)' }
        : {
            name: 'network conditions backend',
            status: 'fail',
            detail: 'none: neither sch_netem nor NFQUEUE works in this kernel',
            fix: 'modprobe sch_netem, or modprobe nfnetlink_queue xt_NFQUEUE',
          },
  );
  return checks;
}

export async function runDoctor(docker: Docker = dockerClient()): Promise<DoctorReport> {
  const checks: Check[] = [];
  const report: DoctorReport = { ok: false, checks };

  try {
    report.engine = await engineFacts(docker);
    const e = report.engine;
    checks.push({
      name: 'engine',
      status: 'ok',
      detail: `Docker ${e.version} (API ${e.apiVersion}) at ${e.host}, storage ${e.storageDriver}, cgroup v${e.cgroupVersion} (${e.cgroupDriver}), kernel ${e.kernelVersion}`,
    });
  } catch (err) {
    checks.push({ name: 'engine', status: 'fail', detail: errorMessage(err), fix: 'scripts/ensure-engine.sh (make lab / make test run it)' });
    return report;
  }

  let plans: ImagePlan[] = [];
  try {
    plans = await planImages({ docker });
    report.images = plans;
  } catch (err) {
    checks.push({ name: 'images', status: 'fail', detail: errorMessage(err), fix: 'fix the error above, then npx acklab images' });
  }
  const needBootstrap = plans.some((p) => p.step.action !== 'use');
  if (needBootstrap) {
    const ready = await bootstrapReadiness();
    checks.push(
      ready.ok
        ? {
            name: 'base images',
            status: 'ok',
            detail: `not present; if no registry answers, ${BOOTSTRAP_BASE} is bootstrapped from ${ready.mirror?.uri} (${ready.mirror?.origin})`,
          }
        : {
            // A registry may still serve them (doctor does not pull): a warning, not a failure.
            name: 'base images',
            status: 'warn',
            detail: `not present: they will be pulled; if no registry answers, ${BOOTSTRAP_BASE} cannot be bootstrapped here`,
            fix: `${ready.problems.join('; ')} — or docker pull/load the default bases (node:20-bookworm-slim, debian:bookworm-slim)`,
          },
    );
  } else if (plans.length > 0) {
    checks.push({ name: 'base images', status: 'ok', detail: plans.map((p) => `${p.role}: ${p.step.ref}`).join(', ') });
  }
  for (const plan of plans) {
    checks.push(
      plan.present
        ? { name: `image ${plan.role}`, status: 'ok', detail: `${plan.tag} built for the current sources` }
        : {
            name: `image ${plan.role}`,
            status: 'warn',
            detail: plan.tag ? `${plan.tag} not built yet` : 'not built yet (its base is not present)',
            fix: 'npx acklab images (make lab / make test build it too)',
          },
    );
  }

  const shaper = plans.find((p) => p.role === 'shaper');
  if (shaper?.present && shaper.tag) {
    try {
      report.kernel = parseKernelProbe(await runProbe(docker, shaper.tag));
      checks.push(...kernelChecks(report.kernel));
    } catch (err) {
      checks.push({ name: 'kernel probe', status: 'fail', detail: errorMessage(err), fix: 'see the error; the probe needs CAP_NET_ADMIN containers' });
    }
  } else {
    checks.push({
      name: 'kernel probe',
      status: 'warn',
      detail: 'skipped: the probe runs in the shaper image, which is not built',
      fix: 'npx acklab images, then npx acklab doctor again',
    });
  }

  report.ok = !checks.some((c) => c.status === 'fail');
  return report;
}

/** Runs the probe script in a throwaway, labelled container with NET_ADMIN and no network. */
async function runProbe(docker: Docker, image: string): Promise<string> {
  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', KERNEL_PROBE_SCRIPT],
    Labels: createLabels({ role: 'probe' }),
    HostConfig: { CapAdd: ['NET_ADMIN'], NetworkMode: 'none', AutoRemove: false },
  });
  try {
    await container.start();
    let timer: NodeJS.Timeout | undefined;
    const result = (await Promise.race([
      container.wait(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('kernel probe did not finish within 30 s')), 30_000);
      }),
    ]).finally(() => clearTimeout(timer))) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    const text = demux(logs);
    if (result.StatusCode !== 0) throw new Error(`kernel probe exited ${result.StatusCode}: ${text.trim()}`);
    return text;
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Docker's multiplexed log stream (8-byte frame headers) to text. */
function demux(buffer: Buffer): string {
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    offset += 8 + size;
  }
  return out;
}
