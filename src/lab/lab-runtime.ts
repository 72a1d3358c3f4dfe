/**
 * The runtime verbs use when they only have a lab's name: the engine acklab talks to, widened to
 * every engine its labs were spread over. Apart from engines.ts so the CLI loads no more than
 * src/common and src/runtime for it.
 */
import { LABELS, decodeEngines, errorMessage, labelFilter } from '../common/index.js';
import { dockerRuntime, multiEngineRuntime, type EngineMember, type Runtime } from '../runtime/index.js';

/** Opens the runtime of an engine address (dockerRuntime; a fake in tests). */
export type OpenEngine = (address: string) => Runtime;

/**
 * The runtime verbs use when they only have a lab's name: `primary`, widened to every engine a lab
 * on it recorded (the engines label of its lease and containers), so `ps`, `logs`, `exec`, `down`,
 * `impair`… reach nodes on any engine of the lab. An engine that does not answer is left out with
 * a line, so the labs of the others stay reachable.
 */
export async function labRuntime(primary: Runtime, options: { open?: OpenEngine; log?: (line: string) => void } = {}): Promise<Runtime> {
  const open = options.open ?? dockerRuntime;
  const leases = await primary.containers.list([...labelFilter({ role: 'lease' }), LABELS.engines]);
  // Each engine under the name a lab gave it (made unique: two labs may give one name to two engines).
  const named = new Map<string, string>();
  const taken = new Set(['primary']);
  for (const c of leases) {
    for (const e of decodeEngines(c.labels[LABELS.engines])) {
      if (e.address === primary.engine.host || named.has(e.address)) continue;
      let name = e.name;
      for (let n = 2; taken.has(name); n++) name = `${e.name}-${n}`;
      taken.add(name);
      named.set(e.address, name);
    }
  }
  if (named.size === 0) return primary;
  const members: EngineMember[] = [{ name: 'primary', address: primary.engine.host, runtime: primary }];
  for (const [address, name] of named) {
    const r = open(address);
    const answers = await r.containers.list(labelFilter({ role: 'lease' })).then(
      () => true,
      (err: unknown) => {
        options.log?.(`engine ${address} (recorded by a lab) does not answer, left out: ${errorMessage(err)}`);
        return false;
      },
    );
    if (answers) members.push({ name, address, runtime: r });
  }
  return members.length === 1 ? primary : multiEngineRuntime(members);
}
