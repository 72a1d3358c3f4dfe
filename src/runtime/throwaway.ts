/**
 * The one throwaway container: created, started, handed to `fn`, and removed whatever happens,
 * under a bound. doctor's kernel probe and dry runs use it (shaper image, NET_ADMIN, no network:
 * only the container's own loopback is touched).
 */
import { AcklabError, createLabels } from '../common/index.js';
import type { ContainerSpec, Runtime } from './types.js';

export interface ThrowawaySpec {
  image: string;
  capAdd?: string[];
  realtime?: ContainerSpec['realtime'];
  /** How long `fn` may take (default 30 s). */
  timeoutMs?: number;
}

export async function withThrowawayContainer<T>(runtime: Runtime, spec: ThrowawaySpec, fn: (containerId: string) => Promise<T>): Promise<T> {
  const container: ContainerSpec = {
    image: spec.image,
    // It only has to outlive fn; if acklab dies meanwhile it exits on its own.
    command: ['sleep', '120'],
    labels: createLabels({ role: 'probe' }),
    networkMode: 'none',
    capAdd: spec.capAdd ?? [],
    ...(spec.realtime ? { realtime: spec.realtime } : {}),
  };
  const id = await runtime.containers.create(container);
  const ms = spec.timeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await runtime.containers.start(id);
    return await Promise.race([
      fn(id),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AcklabError(`throwaway container (${spec.image}) did not finish within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    await runtime.containers.remove(id).catch(() => undefined);
  }
}
