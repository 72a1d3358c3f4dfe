/**
 * Removing a lab by label — after `down`, after a failed or interrupted `up`, and before a new
 * `up` of the same lab (which also clears leftovers of an `up` that was SIGKILLed). Always bounded
 * by its own timeout, and independent of the process that created the resources.
 */
import { AcklabError, LABELS } from '../common/index.js';
import type { ContainerInfo, Runtime } from '../runtime/index.js';
import { releaseSwarms } from './swarm.js';

export const CLEANUP_TIMEOUT_MS = 30_000;

export interface RemovedResources {
  containers: number;
  networks: number;
  /** Over several engines: a line per swarm acklab formed that was unmade, or kept because something uses it. */
  swarms?: string[];
}

/**
 * Removes every container, then every network, carrying all `labels`; over several engines, then
 * unmakes a swarm acklab formed that nothing uses any more (swarm.ts).
 */
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
  const isLease = (c: ContainerInfo) => c.labels[LABELS.role] === 'lease';
  const removed = new Set<string>();
  const removeOne = async (c: ContainerInfo) => {
    await runtime.containers.remove(c.id);
    removed.add(c.id);
  };
  const remove = (list: ContainerInfo[]) => settleAll(list.filter((c) => !removed.has(c.id)).map(removeOne));
  // The lab's networks as they were: the count says what the lab had, also when a reaper elsewhere
  // removes one of them in the moment between our container and network passes.
  const [first, networksBefore] = await Promise.all([runtime.containers.list(labels), runtime.networks.list(labels)]);
  await remove(first.filter((c) => !isLease(c)));
  // Networks go once no container uses them; a second pass catches containers created meanwhile.
  await remove((await runtime.containers.list(labels)).filter((c) => !isLease(c)));
  const networks = await runtime.networks.list(labels);
  await settleAll(networks.map((n) => runtime.networks.remove(n.id)));
  // The lease (the lab's name, and its detached mark) goes last: until everything else is gone, the
  // name stays claimed and a detached lab never looks like an orphan to another process's reaper.
  await remove((await runtime.containers.list(labels)).filter(isLease));
  const counts = { containers: removed.size, networks: new Set([...networksBefore, ...networks].map((n) => n.id)).size };
  const swarms = await releaseSwarms(runtime);
  return swarms.length > 0 ? { ...counts, swarms } : counts;
}

/** Like Promise.all, but waits for every promise before throwing the first error. */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
