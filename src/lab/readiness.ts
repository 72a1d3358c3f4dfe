/**
 * Waiting for a node to be ready, bounded: a port listening in its namespace, a log line, or just
 * running. A node that exits or times out fails with its last log lines, so the cause is visible.
 */
import { AcklabError, formatDuration } from '../common/index.js';
import type { Readiness } from '../topology/index.js';
import type { ContainerClient } from '../runtime/index.js';

export const LOG_LINES_ON_FAILURE = 20;

export class ReadinessError extends AcklabError {
  constructor(
    readonly node: string,
    reason: string,
    readonly lastLogLines: string[],
  ) {
    const logs = lastLogLines.length > 0 ? lastLogLines.map((l) => `    ${l}`).join('\n') : '    (no output)';
    super(`node "${node}" ${reason}; its last log lines:\n${logs}`);
    this.name = 'ReadinessError';
  }
}

export interface WaitOptions {
  signal?: AbortSignal;
  pollMs?: number;
  now?: () => number;
}

export function describeReadiness(r: Readiness): string {
  if (r.type === 'port') return `port ${r.port} to listen`;
  if (r.type === 'log') return `a log line matching /${r.pattern}/`;
  return 'it to run';
}

export async function waitReady(
  containers: ContainerClient,
  node: string,
  id: string,
  ready: Readiness,
  { signal, pollMs = 50, now = Date.now }: WaitOptions = {},
): Promise<void> {
  const deadline = now() + ready.timeoutMs;
  const pattern = ready.type === 'log' ? new RegExp(ready.pattern) : undefined;
  const lastLines = async () => (await containers.logs(id, { tail: LOG_LINES_ON_FAILURE }).catch(() => '')).split('\n').filter((l) => l !== '');
  const logMatches = async () => pattern !== undefined && (await containers.logs(id)).split('\n').some((l) => pattern.test(l));
  // The cheap check (a /proc read, a log read) runs every poll; the state (an API call) every ~1 s.
  const inspectEvery = Math.max(1, Math.round(1000 / pollMs));
  for (let poll = 0; ; poll++) {
    signal?.throwIfAborted();
    if (poll % inspectEvery === 0 || now() >= deadline) {
      const info = await containers.inspect(id);
      if (ready.type === 'started' && (info.running || (info.state === 'exited' && info.exitCode === 0))) return;
      if (!info.running) {
        if (await logMatches()) return;
        throw new ReadinessError(node, `exited with status ${info.exitCode} before it was ready (waiting for ${describeReadiness(ready)})`, await lastLines());
      }
    }
    if (ready.type === 'port' && (await containers.listeningPorts(id)).has(ready.port)) return;
    if (ready.type === 'log' && (await logMatches())) return;
    if (now() >= deadline) {
      throw new ReadinessError(node, `was not ready after ${formatDuration(ready.timeoutMs)} (waiting for ${describeReadiness(ready)})`, await lastLines());
    }
    await sleep(pollMs, signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    // the listener goes with the timer: a poll every 50 ms must not pile listeners on a sweep's one signal
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
