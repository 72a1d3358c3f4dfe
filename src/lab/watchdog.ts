/**
 * The watchdog (Ryuk's idea, as a host process instead of a container): the first time a process
 * starts a lab, it spawns a small detached process that holds the read end of a pipe from it. When
 * the process ends in any way — SIGKILL, a second Ctrl-C, a crashed test worker — the kernel
 * closes the pipe, and the watchdog removes every run that process held and had not detached
 * (reaper.ts), then exits. It runs in its own session, so a Ctrl-C at the terminal does not reach
 * it, and it talks to the same engine (DOCKER_HOST and friends are inherited).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../images/index.js';
import { engineHost, type Runtime } from '../runtime/index.js';

/** Set to "0" to start no watchdog (the next acklab command still reaps what a dead process left). */
export const WATCHDOG_ENV = 'ACKLAB_WATCHDOG';
/** A file the watchdog appends its lines to (for debugging); default: nowhere. */
export const WATCHDOG_LOG_ENV = 'ACKLAB_WATCHDOG_LOG';

const running = new Map<string, ChildProcess>();

/** Engines a watchdog can reach: real addresses, not a test's fake runtime. */
export function isEngineAddress(host: string): boolean {
  return /^(unix|tcp|http|https|ssh|npipe):\/\//.test(host);
}

function entryPoint(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  // Next to this file in dist/; from the sources (tests), the built copy.
  return [path.join(here, 'watchdog-main.js'), path.join(REPO_ROOT, 'dist/lab/watchdog-main.js')].find((f) => existsSync(f));
}

/**
 * Makes sure a watchdog guards this process's runs on the runtime's engine (once per engine).
 * Returns false when none could be started (then only the next acklab command reaps).
 */
export function ensureWatchdog(runtime: Runtime, holder: string, log: (line: string) => void = () => {}): boolean {
  const host = runtime.engine.host;
  if (!isEngineAddress(host) || process.env[WATCHDOG_ENV] === '0') return false;
  const known = running.get(host);
  if (known && known.exitCode === null && known.signalCode === null) return true;
  const entry = entryPoint();
  if (!entry) {
    log('no watchdog (dist/lab/watchdog-main.js is missing: run `npm run build`); a crash leaves this lab until the next acklab command');
    return false;
  }
  const logFile = process.env[WATCHDOG_LOG_ENV];
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  const args = [entry, '--holder', holder, '--parent', String(process.pid), ...(host !== engineHost() ? ['--engine', host] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['pipe', out, out], env: process.env });
  // Neither end may keep this process alive; a dead watchdog must not crash it (EPIPE).
  child.stdin!.on('error', () => {});
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  child.on('error', (err) => log(`watchdog failed to start: ${err.message}`));
  child.unref();
  running.set(host, child);
  return true;
}
