/**
 * Removing a lab by label — after `down`, after a failed or interrupted `up`, and before a new
 * `up` of the same lab (which also clears leftovers of an `up` that was SIGKILLed). Always bounded
 * by its own timeout, and independent of the process that created the resources.
 */
import { AcklabError } from '../common/index.js';
import type { Runtime } from '../runtime/index.js';

export const CLEANUP_TIMEOUT_MS = 30_000;

export interface RemovedResources {
  containers: number;
  networks: number;
}

/** Removes every container, then every network, carrying all `labels`. */
export async function removeByLabels(runtime: Runtime, labels: string[], timeoutMs = CLEANUP_TIMEOUT_MS): Promise<RemovedResources> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AcklabError(`cleanup of ${labels.join(',')} did not finish within ${timeoutMs / 1000}s; run \`acklab down\` again`)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([removeAll(runtime, labels), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function removeAll(runtime: Runtime, labels: string[]): Promise<RemovedResources> {
  const containers = await runtime.containers.list(labels);
  await settleAll(containers.map((c) => runtime.containers.remove(c.id)));
  // Networks go once no container uses them; a second pass catches containers created meanwhile.
  const late = await runtime.containers.list(labels);
  await settleAll(late.map((c) => runtime.containers.remove(c.id)));
  const networks = await runtime.networks.list(labels);
  await settleAll(networks.map((n) => runtime.networks.remove(n.id)));
  return { containers: containers.length + late.length, networks: networks.length };
}

/** Like Promise.all, but waits for every promise before throwing the first error. */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
