/**
 * A namespace's kernel for the agent's tests: iptables chains (restore with --noflush flushes the
 * chains a batch declares; save prints them with counters), tc classes, helper processes that bind
 * their queue, and a clock the test moves by hand (timers fire as it passes them).
 */
import type { AgentHost, ArmedRestore, HelperProcess } from '../../../src/impair/agent/core.js';
import type { ExecLike } from '../../../src/impair/index.js';

const ok = (stdout = ''): ExecLike => ({ exitCode: 0, stdout, stderr: '' });

export class FakeKernel implements AgentHost {
  nowMs = Date.now();
  /** The clock at the start, for times in the log relative to it. */
  readonly startMs = this.nowMs;
  /** netem missing: the userspace backend, as on this machine. */
  netem = false;
  /** The sidecar may run SCHED_FIFO (CAP_SYS_NICE and a real-time budget). */
  realtime = true;
  /** The agent's scheduling as it set it: 'fifo 10', or 'default'. */
  priority = 'default';
  readonly chains = new Map<string, string[]>();
  readonly hooks = new Set<string>();
  readonly classes = new Map<string, Set<string>>();
  readonly helpers = new Map<number, { pid: number; exit: (r: { code: number | null; signal: string | null }) => void; alive: boolean; argv: readonly string[] }>();
  /** Every command run, in order (restore batches as `iptables-restore <batch>`). */
  readonly log: string[] = [];
  /**
   * Commands that take this long at the default policy (by their first word), as on a loaded
   * machine; one still running when the agent goes real-time finishes at once (raised with it).
   */
  readonly slow = new Map<string, number>();
  private running: (() => void)[] = [];
  /**
   * A starved machine: while the agent is at the default policy its timers fire this much late (it
   * waits for a CPU); at real-time priority they fire on time, and so do acklab-sched's promotions.
   */
  starvedMs = 0;
  private timers: { atMs: number; fn: () => void; cancelled: boolean; realtime?: boolean }[] = [];
  private pid = 100;

  now(): number {
    return this.nowMs;
  }

  /** Moves the clock to `atMs`, firing every timer on the way, in order, letting promises settle between. */
  async advanceTo(atMs: number): Promise<void> {
    for (;;) {
      await settle();
      const firesAt = (t: { atMs: number; realtime?: boolean }) => t.atMs + (t.realtime || this.priority !== 'default' ? 0 : this.starvedMs);
      const due = this.timers.filter((t) => !t.cancelled && firesAt(t) <= atMs).sort((a, b) => firesAt(a) - firesAt(b))[0];
      if (!due) break;
      this.nowMs = Math.max(this.nowMs, firesAt(due));
      due.cancelled = true;
      due.fn();
    }
    this.nowMs = Math.max(this.nowMs, atMs);
    await settle();
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.nowMs + ms);
  }

  at(atMs: number, fn: () => void, realtime = false): () => void {
    const t = { atMs, fn, cancelled: false, realtime };
    this.timers.push(t);
    return () => void (t.cancelled = true);
  }

  async sleep(ms: number): Promise<void> {
    // Sleeps of the agent's own loops pass at once: the clock moves with them.
    this.nowMs += ms;
    await settle();
  }

  async readFile(path: string): Promise<string | undefined> {
    const pid = /\/run\/acklab-nfq\/(\d+)\.pid$/.exec(path);
    if (pid) return this.helpers.get(Number(pid[1]))?.alive ? String(this.helpers.get(Number(pid[1]))!.pid) : undefined;
    if (path === '/proc/net/netfilter/nfnetlink_queue') {
      return [...this.helpers].filter(([, h]) => h.alive).map(([q, h]) => `${String(q).padStart(5)} ${h.pid} 0 2 65531 0 0 0 1`).join('\n');
    }
    return undefined;
  }

  spawn(argv: readonly string[]): HelperProcess {
    const queue = Number(argv[argv.indexOf('--queue') + 1]);
    const pid = ++this.pid;
    let exit!: (r: { code: number | null; signal: string | null }) => void;
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => (exit = r));
    const h = { pid, exit, alive: true, argv };
    this.helpers.set(queue, h);
    this.log.push(`spawn ${argv.join(' ')}`);
    return {
      pid,
      exited,
      kill: (signal) => {
        this.log.push(`kill ${signal} helper ${queue}`);
        this.killHelper(queue, signal);
      },
    };
  }

  /** The helper of `queue` dies (as if killed from outside, or on signal). */
  killHelper(queue: number, signal = 'SIGKILL'): void {
    const h = this.helpers.get(queue);
    if (!h?.alive) return;
    h.alive = false;
    h.exit({ code: null, signal });
  }

  async setPriority(priority: number | null): Promise<boolean> {
    if (!this.realtime) return false;
    this.priority = priority === null ? 'default' : `fifo ${priority}`;
    this.log.push(`priority ${this.priority}`);
    if (priority !== null) for (const finish of this.running.splice(0)) finish();
    return true;
  }

  private promotions: (() => void)[] = [];

  async promoteAt(atMs: number, priority: number): Promise<boolean> {
    if (!this.realtime) return false;
    this.log.push(`promote at ${atMs - this.startMs}`);
    this.promotions.push(
      this.at(
        atMs,
        () => {
          // acklab-sched raises the agent; the agent's running children stay as they are
          this.priority = `fifo ${priority}`;
          this.log.push(`promoted fifo ${priority}`);
        },
        true,
      ),
    );
    return true;
  }

  async cancelPromotions(): Promise<boolean> {
    for (const cancel of this.promotions.splice(0)) cancel();
    this.log.push('cancel promotions');
    return true;
  }

  arm(argv: readonly string[]): ArmedRestore {
    this.log.push(`arm ${argv.join(' ')}`);
    return { commit: async (batch) => this.restore(batch), abort: () => void this.log.push('abort restore') };
  }

  async run(argv: readonly string[], stdin?: string): Promise<ExecLike> {
    const slowMs = this.slow.get(argv[0]!);
    if (slowMs !== undefined && this.priority === 'default') {
      await new Promise<void>((resolve) => {
        const finish = () => {
          cancel();
          this.running = this.running.filter((f) => f !== finish);
          resolve();
        };
        const cancel = this.at(this.nowMs + slowMs, finish);
        this.running.push(finish);
      });
      this.log.push(`(${argv[0]} ran until ${this.nowMs})`);
    }
    const cmd = argv.join(' ');
    if (argv[0] === 'iptables-restore') return this.restore(stdin ?? '');
    this.log.push(cmd);
    // `chrt -f PRIO CMD…`: the command, at real-time priority (refused without a budget)
    if (argv[0] === 'chrt' && argv[1] === '-f' && argv.length > 3 && this.realtime) return this.run(argv.slice(3), stdin);
    // `chrt -o 0 CMD…`: the command, at the default policy
    if (argv[0] === 'chrt' && argv[1] === '-o' && argv.length > 3) return this.run(argv.slice(3), stdin);
    if (argv[0] === 'chrt') return this.realtime ? ok() : { exitCode: 1, stdout: '', stderr: 'chrt: failed to set pid 0\'s policy: Operation not permitted' };
    if (argv[0] === 'ip') return ok('1: lo: <LOOPBACK,UP>\n2: eth0@if9: <BROADCAST,UP>\n');
    if (argv[0] === 'iptables-save') return ok(this.save());
    if (argv[0] === 'iptables' && argv[1] === '-V') return ok('iptables v1.8.9 (nf_tables)');
    if (argv[0] === 'iptables') return this.iptables(argv.slice(3));
    if (argv[0] === 'tc') return this.tc(argv);
    if (argv[0] === 'cat') return ok('');
    return ok();
  }

  /** Changes a chain from outside, as an admin running iptables by hand would. */
  deleteRule(chain: string, index = 0): void {
    this.chains.get(chain)?.splice(index, 1);
  }

  private restore(batch: string): ExecLike {
    this.log.push(`iptables-restore ${batch}`);
    for (const line of batch.split('\n')) {
      const decl = /^:(\S+) /.exec(line);
      if (decl) this.chains.set(decl[1]!, []);
      const rule = /^-A (\S+) (.*)$/.exec(line);
      if (rule) this.chains.get(rule[1]!)!.push(rule[2]!);
      const insert = /^-I (\S+) 1 (.*)$/.exec(line);
      if (insert) this.chains.get(insert[1]!)!.unshift(insert[2]!);
      const del = /^-X (\S+)$/.exec(line);
      if (del) this.chains.delete(del[1]!);
    }
    return ok();
  }

  /** The rules in force for a hooked chain: those of the generation its first goto names (or its own). */
  effective(chain: string): string[] | undefined {
    const rules = this.chains.get(chain);
    const goto = /^-g (\S+)$/.exec(rules?.[0] ?? '');
    return goto ? this.chains.get(goto[1]!) : rules;
  }

  private iptables(args: readonly string[]): ExecLike {
    const a = args[0] === '-t' ? args.slice(2) : args;
    if (a[0] === '-N') this.chains.set(a[1]!, []);
    else if ((a[0] === '-A' || a[0] === '-I') && a.includes('-j')) this.hooks.add(`${a[1]} -j ${a[a.length - 1]}`);
    else if (a[0] === '-D') this.hooks.delete(`${a[1]} -j ${a[a.length - 1]}`);
    else if (a[0] === '-X') this.chains.delete(a[1]!);
    return ok();
  }

  private save(): string {
    const lines: string[] = [];
    for (const hook of this.hooks) lines.push(`[0:0] -A ${hook}`);
    for (const [chain, rules] of this.chains) {
      lines.push(`:${chain} - [0:0]`);
      for (const r of rules) lines.push(`[3:180] -A ${chain} ${r}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private tc(argv: readonly string[]): ExecLike {
    const dev = argv[argv.indexOf('dev') + 1]!;
    const set = this.classes.get(dev) ?? new Set<string>();
    if (argv[1] === 'qdisc' && argv[2] === 'add' && argv.includes('root')) this.classes.set(dev, set);
    if (argv[1] === 'qdisc' && argv[2] === 'del' && argv.includes('root')) this.classes.delete(dev);
    if (argv[1] === 'class' && argv[2] === 'add') set.add(argv[argv.indexOf('classid') + 1]!);
    if (argv[1] === 'class' && argv[2] === 'del') set.delete(argv[argv.indexOf('classid') + 1]!);
    if (argv[1] === 'class' && argv[2] === 'show') return ok([...(this.classes.get(dev) ?? [])].map((c) => `class htb ${c} root prio 0 rate 10Gbit`).join('\n'));
    if (argv[1] === 'qdisc' && argv[2] === 'add' && argv.includes('netem') && !this.netem) {
      return { exitCode: 2, stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n' };
    }
    return ok();
  }
}

/** Lets every pending promise callback run (the agent's chains of awaits). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}
