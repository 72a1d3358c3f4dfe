/**
 * How long qemu's vCPU thread waited for a host CPU while it wanted to run: the run-queue delay
 * in /proc/PID/task/TID/schedstat (second field, ns; see the kernel's Documentation/scheduler/sched-stats.rst).
 * Under emulation the guest's clocks are the host's, so every such moment reaches the guest as
 * latency or lost throughput: this is how a result says "the host was busy", with a number.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** The first child of `pid` (a wrapper's command once it has exec'd), from /proc. */
export function childPid(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

interface Sample {
  at: number;
  waitNs: number;
}

export class ContentionSampler {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pid: number | undefined;
  private tid: string | undefined;

  /** `qemuPid` answers undefined until qemu runs (it may start behind a wrapper). */
  constructor(
    private readonly qemuPid: () => number | undefined,
    private readonly everyMs = 100,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Fraction of [from, to] (Date.now() ms) the vCPU thread spent waiting for a CPU; undefined without samples. */
  waitFraction(from: number, to: number): number | undefined {
    if (to <= from) return undefined;
    const at = (t: number): number | undefined => {
      const s = this.samples;
      if (s.length === 0 || t < s[0]!.at) return s.length ? s[0]!.waitNs : undefined;
      for (let i = 1; i < s.length; i++) {
        if (s[i]!.at >= t) {
          const [a, b] = [s[i - 1]!, s[i]!];
          return a.waitNs + ((b.waitNs - a.waitNs) * (t - a.at)) / Math.max(1, b.at - a.at);
        }
      }
      return s[s.length - 1]!.waitNs;
    };
    const [a, b] = [at(from), at(to)];
    return a === undefined || b === undefined ? undefined : Math.max(0, (b - a) / 1e6 / (to - from));
  }

  private sample(): void {
    try {
      this.pid ??= this.qemuPid();
      if (this.pid === undefined) return;
      this.tid ??= this.findVcpu();
      if (!this.tid) return;
      const f = readFileSync(`/proc/${this.pid}/task/${this.tid}/schedstat`, 'utf8').trim().split(/\s+/);
      this.samples.push({ at: Date.now(), waitNs: Number(f[1]) });
    } catch {
      // qemu is gone, or no schedstat on this kernel: no number, no harm.
    }
  }

  /** TCG names its vCPU thread "CPU 0/TCG" (KVM: "CPU 0/KVM"). */
  private findVcpu(): string | undefined {
    if (this.pid === undefined) return undefined;
    for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
      const comm = readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim();
      if (/^CPU \d+\//.test(comm)) return tid;
    }
    return undefined;
  }
}
