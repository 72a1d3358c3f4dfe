/**
 * `acklab doctor`: can the lab run here? It gathers what the layers below know — the engine's
 * facts (runtime), the images and their bases (images), and the kernel's network-emulation
 * support, probed for real by the one kernel probe (impair) in a throwaway container (shaper image,
 * NET_ADMIN, no network: only its own loopback is touched).
 */
import { errorMessage } from '../common/index.js';
import { BOOTSTRAP_BASE, bootstrapReadiness, planImages, type ImagePlan } from '../images/index.js';
import { SIDECAR_REALTIME, type KernelSupport, chooseBackend, probeKernel, sidecarExecutor } from '../impair/index.js';
import { dockerRuntime, withThrowawayContainer, type EngineFacts, type Runtime } from '../runtime/index.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** How to fix it, when not ok. */
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  engine?: EngineFacts;
  images?: ImagePlan[];
  kernel?: KernelSupport;
  checks: Check[];
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
          detail: `sch_netem missing (tc qdisc add … netem failed, ${k.raw.netem ?? '?'})`,
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
  // The rule each lab's controller applies (impair's chooseBackend), so doctor names the backend a lab gets.
  try {
    const chosen = chooseBackend(k);
    const how = chosen.backend === 'netem' ? 'htb tree with netem leaves per destination' : 'no sch_netem: NFQUEUE + acklab-nfq, htb for rate';
    checks.push({ name: 'network conditions backend', status: 'ok', detail: `${chosen.backend} (${how})` });
  } catch (err) {
    checks.push({ name: 'network conditions backend', status: 'fail', detail: errorMessage(err), fix: 'modprobe sch_netem, or modprobe nfnetlink_queue xt_NFQUEUE' });
  }
  return checks;
}

export async function runDoctor(runtime: Runtime = dockerRuntime()): Promise<DoctorReport> {
  const checks: Check[] = [];
  const report: DoctorReport = { ok: false, checks };
  const engine = await engineCheck(runtime);
  checks.push(engine.check);
  if (!engine.facts) return report;
  report.engine = engine.facts;

  const images = await imageChecks(runtime);
  checks.push(...images.checks);
  if (images.plans) report.images = images.plans;

  const kernel = await kernelCheck(runtime, images.plans?.find((p) => p.role === 'shaper'));
  if (kernel.support) {
    report.kernel = kernel.support;
    checks.push(...kernelChecks(kernel.support));
  }
  checks.push(...kernel.checks);
  if (kernel.support) checks.push(await realtimeCheck(runtime, images.plans!.find((p) => p.role === 'shaper')!.tag!));
  report.ok = !checks.some((c) => c.status === 'fail');
  return report;
}

async function engineCheck(runtime: Runtime): Promise<{ check: Check; facts?: EngineFacts }> {
  try {
    const e = await runtime.engine.facts();
    return {
      facts: e,
      check: {
        name: 'engine',
        status: 'ok',
        detail: `Docker ${e.version} (API ${e.apiVersion}) at ${e.host}, storage ${e.storageDriver}, cgroup v${e.cgroupVersion} (${e.cgroupDriver}), kernel ${e.kernelVersion}`,
      },
    };
  } catch (err) {
    return { check: { name: 'engine', status: 'fail', detail: errorMessage(err), fix: 'scripts/ensure-engine.sh (make lab / make test run it)' } };
  }
}

async function imageChecks(runtime: Runtime): Promise<{ checks: Check[]; plans?: ImagePlan[] }> {
  const checks: Check[] = [];
  let plans: ImagePlan[];
  try {
    plans = await planImages({ runtime });
  } catch (err) {
    return { checks: [{ name: 'images', status: 'fail', detail: errorMessage(err), fix: 'fix the error above, then npx acklab images' }] };
  }
  if (plans.some((p) => p.step.action !== 'use')) {
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
  return { checks, plans };
}

/** Whether a shaper sidecar gets its real-time budget here (what keeps timeline steps on the millisecond under load). */
async function realtimeCheck(runtime: Runtime, shaper: string): Promise<Check> {
  const name = 'timeline switches';
  const late = 'steps switch at the default priority: on time on a quiet machine, late by as much as the load delays a wake-up';
  try {
    const ok = await withThrowawayContainer(runtime, { image: shaper, capAdd: ['SYS_NICE'], realtime: { ...SIDECAR_REALTIME } }, async (id) => {
      const r = await runtime.containers.exec(id, ['chrt', '-f', '1', 'true']);
      return r.exitCode === 0;
    });
    if (ok) return { name, status: 'ok', detail: 'real-time: each sidecar gets a SCHED_FIFO budget, so armed steps wake and switch on the millisecond' };
    return { name, status: 'warn', detail: `no SCHED_FIFO in a sidecar; ${late}`, fix: 'a kernel or engine that allows real-time tasks in containers' };
  } catch (err) {
    return {
      name,
      status: 'warn',
      detail: `the engine gives containers no real-time budget (${errorMessage(err).split('\n')[0]}); ${late}`,
      fix: 'start dockerd with --cpu-rt-runtime=950000 (scripts/ensure-engine.sh does so for an engine it starts)',
    };
  }
}

async function kernelCheck(runtime: Runtime, shaper: ImagePlan | undefined): Promise<{ checks: Check[]; support?: KernelSupport }> {
  if (!shaper?.present || !shaper.tag) {
    return {
      checks: [
        { name: 'kernel probe', status: 'warn', detail: 'skipped: the probe runs in the shaper image, which is not built', fix: 'npx acklab images, then npx acklab doctor again' },
      ],
    };
  }
  try {
    const support = await withThrowawayContainer(runtime, { image: shaper.tag, capAdd: ['NET_ADMIN'] }, (id) => {
      const exec = sidecarExecutor('probe', id, runtime.containers);
      return probeKernel((argv) => exec.run(argv));
    });
    return { checks: [], support };
  } catch (err) {
    return { checks: [{ name: 'kernel probe', status: 'fail', detail: errorMessage(err), fix: 'see the error; the probe needs CAP_NET_ADMIN containers' }] };
  }
}
