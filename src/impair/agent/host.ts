/**
 * The agent's host inside the sidecar: child processes, files, and a clock whose timers fire on
 * the millisecond (a timer to 1 ms before, then short yields until the exact time).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { ExecLike } from '../probe.js';
import type { AgentHost, ArmedRestore, HelperProcess } from './core.js';

const RUN_TIMEOUT_MS = 15_000;

function collect(child: ReturnType<typeof spawn>, stdin?: string): Promise<ExecLike> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('error', (e) => err.push(Buffer.from(String(e.message))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** The priority of acklab-sched itself: above the agent's, so a request preempts it at once. */
const SCHED_HELPER_PRIORITY = 20;

export interface Scheduler {
  /** Sends one request line; resolves true on `ok`, false on an error or a helper that has gone. */
  request(line: string): Promise<boolean>;
}
let running: Scheduler | undefined;

/**
 * acklab-sched (docker/shaper/helper/acklab-sched.c), started once at real-time priority: it changes
 * the agent's policy on a line written to it, where running chrt would start a process each time,
 * holding the agent until the child exec'd. Started again if it has gone.
 */
function scheduler(): Scheduler {
  if (running) return running;
  const child = spawn('chrt', ['-f', String(SCHED_HELPER_PRIORITY), 'acklab-sched'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting: ((ok: boolean) => void)[] = [];
  let buffered = '';
  const gone = () => {
    if (running === self) running = undefined;
    for (const answer of waiting.splice(0)) answer(false);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.(line === 'ok');
    }
  });
  child.on('exit', gone);
  child.on('error', gone);
  child.stdin!.on('error', gone);
  const self: Scheduler = {
    request(line) {
      if (running !== self) return Promise.resolve(false);
      return new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin!.write(`${line}\n`);
      });
    },
  };
  running = self;
  return self;
}

/** Starts acklab-sched ahead of the first step (main.ts, when the sidecar has a real-time budget). */
export function startScheduler(): void {
  scheduler();
}

/** The host over the sidecar's processes and clock, its policy changed through `sched`. */
export function createHost(sched: () => Scheduler): AgentHost {
  /** The processes `run` started that still run: raised with the agent when it goes real-time. */
  const runningChildren = new Set<number>();
  return {
    now: () => Date.now(),

    run(argv, stdin) {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      const pid = child.pid;
      if (pid === undefined) return collect(child, stdin);
      runningChildren.add(pid);
      return collect(child, stdin).finally(() => runningChildren.delete(pid));
    },

    spawn(argv): HelperProcess {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
        child.on('exit', (code, signal) => resolve({ code, signal }));
        child.on('error', () => resolve({ code: -1, signal: null }));
      });
      return { pid: child.pid ?? -1, exited, kill: (signal) => void child.kill(signal) };
    },

    arm(argv): ArmedRestore {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const result = collect(child);
      return {
        commit(batch) {
          child.stdin?.end(batch);
          return result;
        },
        abort() {
          child.kill('SIGKILL');
        },
      };
    },

    async setPriority(priority) {
      // The agent's pid is its main thread's, where the timers run. Children started meanwhile
      // inherit the policy: a step's iptables-restore starts at once and commits at it.
      const helper = sched();
      if (priority === null) return helper.request(`other ${process.pid}`);
      const ok = await helper.request(`fifo ${priority} ${process.pid}`);
      // Children started before (a tidy, a read) finish at once instead of waiting for a CPU while
      // the step's switch queues behind them; one that has exited meanwhile is refused, harmlessly.
      if (ok) await Promise.all([...runningChildren].map((pid) => helper.request(`fifo ${priority} ${pid}`)));
      return ok;
    },

    promoteAt(atMs, priority) {
      return sched().request(`at ${Math.round(atMs)} fifo ${priority} ${process.pid}`);
    },

    cancelPromotions() {
      return sched().request(`cancel ${process.pid}`);
    },

    async readFile(path) {
      return readFile(path, 'utf8').catch(() => undefined);
    },

    at(atMs, fn) {
      let cancelled = false;
      let timer: NodeJS.Timeout | undefined;
      const spin = () => {
        if (cancelled) return;
        if (Date.now() >= atMs) fn();
        else setImmediate(spin);
      };
      const wait = atMs - Date.now() - 1;
      if (wait > 0) timer = setTimeout(spin, wait);
      else setImmediate(spin);
      return () => {
        cancelled = true;
        clearTimeout(timer);
      };
    },

    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

export const realHost: AgentHost = createHost(scheduler);
