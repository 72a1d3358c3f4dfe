/**
 * The engine as every verb reaches it: before the first use, the labs of acklab processes on this
 * host that died before their lab was detached (a killed `up`, `run` or test) are removed, with a
 * line saying so — one list call of containers and one of networks. Loaded when a verb's action
 * runs (see load.ts), like every layer below the CLI.
 */
import { currentOwner } from '../lab/holder.js';
import type { Runtime } from '../runtime/index.js';
import { loadLabRuntime, loadReaper, loadRuntime } from './load.js';

let checked: Promise<Runtime> | undefined;

export function engineRuntime(): Promise<Runtime> {
  checked ??= (async () => {
    const [{ dockerRuntime }, { reapOrphans }, { labRuntime }] = await Promise.all([loadRuntime(), loadReaper(), loadLabRuntime()]);
    const log = (line: string) => process.stderr.write(`acklab: ${line}\n`);
    // Widened to the engines the labs here were spread over, so a verb reaches every node by lab name.
    // A failure here is the verb's to report (no engine, …): it runs into the same error itself.
    const runtime = await labRuntime(dockerRuntime(), { log }).catch(() => dockerRuntime());
    await reapOrphans(runtime, { log }).catch(() => undefined);
    return runtime;
  })();
  return checked;
}

/** Whose labs `ps` and `down` act on by default. */
export const owner = (): string => currentOwner();
