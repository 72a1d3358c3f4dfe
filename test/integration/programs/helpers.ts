/**
 * Real-process helpers for the programs' loopback tests: spawn the built programs (bin/ → dist/),
 * wait for output lines, find free loopback ports, and always kill what we started.
 */
import { sleep } from '../../support/wait.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The seed's Twisted programs (Python 3 ports, quirks kept): one copy, the one the lab's image runs. */
export const TWISTED_DIR = join(ROOT, 'docker/twisted');
/** Debian's python3 (with python3-twisted); the python3 on PATH may be pyenv's without it. ACKLAB_PYTHON overrides. */
export const SYSTEM_PYTHON = process.env.ACKLAB_PYTHON ?? '/usr/bin/python3';

export function requireBuild(): void {
  for (const p of ['echo', 'peer', 'mcast']) {
    const file = join(ROOT, `dist/programs/${p}/main.js`);
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before the integration tests`);
  }
}

export class Proc {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(readonly child: ChildProcess, readonly label: string) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.check();
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.check();
    });
    // 'close' (not 'exit'): it fires after the child's stdout/stderr are drained, so output is complete.
    this.exited = new Promise((res) => child.once('close', (code, signal) => res({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Resolves with the first match of `re` in stdout+stderr (so far or later); rejects after timeoutMs. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    const now = this.output.match(re);
    if (now) return Promise.resolve(now);
    return new Promise((resolvePromise, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.label}: no output matching ${re} within ${timeoutMs} ms; output so far:\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      const done = (m: RegExpMatchArray) => {
        clearTimeout(t);
        resolvePromise(m);
      };
      this.waiters.push({ re, resolve: done });
    });
  }

  /** Waits (bounded) until at least `n` lines match `re`, for output of a live process that may lag. */
  async waitForCount(re: RegExp, n: number, timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.count(re) < n) {
      if (Date.now() > deadline) throw new Error(`${this.label}: ${this.count(re)} lines match ${re} after ${timeoutMs} ms, expected ${n}`);
      await sleep(20);
    }
    return this.count(re);
  }

  /** Count of lines matching `re`. */
  count(re: RegExp): number {
    return this.output.split('\n').filter((l) => re.test(l)).length;
  }

  async waitExit(timeoutMs = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label} did not exit within ${timeoutMs} ms; output:\n${this.output.slice(-3000)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The last line of stdout that parses as a JSON object (the programs' summary line). */
  summary<T = Record<string, unknown>>(): T {
    const lines = this.stdout.trim().split('\n').reverse();
    for (const l of lines) {
      if (l.startsWith('{')) return JSON.parse(l) as T;
    }
    throw new Error(`${this.label}: no JSON summary line in stdout:\n${this.stdout.slice(-2000)}`);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  private check(): void {
    const out = this.output;
    this.waiters = this.waiters.filter((w) => {
      const m = out.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }
}

const started = new Set<Proc>();

/** Spawns `node bin/<program>.js args…`. */
export function program(name: 'acklab-echo' | 'acklab-peer' | 'acklab-mcast' | 'acklab', args: string[], opts: { cwd?: string } = {}): Proc {
  return track(new Proc(spawn(process.execPath, [join(ROOT, 'bin', `${name}.js`), ...args], { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), `${name} ${args.join(' ')}`));
}

/** Spawns one of the seed's Twisted programs (docker/twisted/) with Debian's python3, unbuffered; `env` adds to this process's. */
export function python(script: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  return spawnProc(SYSTEM_PYTHON, ['-u', join(TWISTED_DIR, script), ...args], { ...opts, label: `python3 ${script} ${args.join(' ')}` });
}

/** Spawns any command on the host (tracked, so killAll stops it); `env` is added to this process's environment. */
export function spawnProc(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; label?: string } = {}): Proc {
  const child = spawn(command, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(new Proc(child, opts.label ?? `${command} ${args.join(' ')}`));
}

function track(p: Proc): Proc {
  started.add(p);
  void p.exited.then(() => started.delete(p));
  return p;
}

/** Kills every process these helpers started that is still running (afterEach/afterAll). */
export async function killAll(): Promise<void> {
  const procs = [...started];
  for (const p of procs) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => p.exited));
}

/** A loopback port that was free a moment ago (the kernel's choice, so parallel runs rarely collide). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolvePort(port));
    });
  });
}

export async function isPortFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `acklab-test-programs-${prefix}-`));
}

export { sleep };
