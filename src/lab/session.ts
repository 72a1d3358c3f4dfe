/**
 * For resources made outside a Lab (a test's own containers and networks): the owner and holder
 * labels of this process, with its watchdog started, so they are reaped like a lab's if the
 * process dies before it removes them.
 */
import type { Runtime } from '../runtime/index.js';
import { currentHolder, currentOwner, encodeHolder } from './holder.js';
import { ensureWatchdog } from './watchdog.js';

export function processLabels(runtime: Runtime): { owner: string; holder: string } {
  const holder = encodeHolder(currentHolder());
  ensureWatchdog(runtime, holder);
  return { owner: currentOwner(), holder };
}
