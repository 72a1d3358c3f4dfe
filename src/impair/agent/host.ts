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

export const realHost: AgentHost = {
  now: () => Date.now(),

  run(argv, stdin) {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    return collect(child, stdin);
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
    // chrt on the agent's pid changes its main thread, where the timers run; -R: children it starts
    // (checks, helpers) run at the default policy and do not spend the sidecar's real-time budget.
    const argv = priority === null ? ['chrt', '-o', '-p', '0', String(process.pid)] : ['chrt', '-f', '-R', '-p', String(priority), String(process.pid)];
    return (await realHost.run(argv)).exitCode === 0;
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
