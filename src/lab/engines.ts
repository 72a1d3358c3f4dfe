/**
 * A lab over several Docker engines: the runtime that reaches them all (one per engine, behind
 * src/runtime's multiEngineRuntime) and the images each one needs. (For verbs that only have a
 * lab's name: lab-runtime.ts.)
 */
import { AcklabError, errorMessage, type EngineAddress } from '../common/index.js';
import { dockerRuntime, engineMembers, multiEngineRuntime, type EngineMember, type Runtime } from '../runtime/index.js';
import { LOCAL_ENGINE, type Topology } from '../topology/index.js';
import type { OpenEngine } from './lab-runtime.js';

export type { OpenEngine } from './lab-runtime.js';

/** The primary engine of a runtime (itself when it is over one engine). */
export function primaryOf(runtime: Runtime): Runtime {
  return runtime.members?.[0]?.runtime ?? runtime;
}

/** The name of the engine acklab talks to in the runtime of a lab whose topology does not list it. */
export const HOME_ENGINE = 'home';

/**
 * The runtime a lab of `topology` runs on: `runtime` itself when the topology names no engines;
 * else one over the engine acklab talks to (the primary: the lab's lease goes there, so verbs run
 * where `up` ran find the lab) and the topology's engines, where `local` (and the address
 * `runtime` talks to) is that same engine. Networks are created on the topology's first engine
 * (a manager of their swarm).
 */
export function runtimeForTopology(runtime: Runtime, topology: Topology, open: OpenEngine = dockerRuntime): Runtime {
  if (!topology.engines) return runtime;
  const base = primaryOf(runtime);
  const known = new Map((runtime.members ?? []).map((m) => [m.address, m.runtime]));
  known.set(base.engine.host, base);
  const listed: EngineMember[] = topology.engines.map((e) => {
    const address = e.address === LOCAL_ENGINE ? base.engine.host : e.address;
    let r = known.get(address);
    if (!r) known.set(address, (r = open(address)));
    return { name: e.name, address, runtime: r };
  });
  const home = listed.find((m) => m.runtime === base) ?? { name: HOME_ENGINE, address: base.engine.host, runtime: base };
  return multiEngineRuntime([home, ...listed.filter((m) => m !== home)], { networks: listed[0]!.name });
}

/** The topology's engines with their addresses, to record on a lab's resources. */
export function engineAddresses(topology: Topology, runtime: Runtime): EngineAddress[] | undefined {
  if (!topology.engines) return undefined;
  const members = new Map((runtime.members ?? []).map((m) => [m.name, m.address]));
  return topology.engines.map((e) => ({ name: e.name, address: members.get(e.name) ?? e.address }));
}

/**
 * Makes every image in `refs` (per engine name) present on each engine of `runtime` that lacks it,
 * from `source` — the engine acklab builds on (`docker save | docker load`: there is no registry
 * to pull from, and an engine of a swarm may have no way out to build there).
 */
export async function shipImages(source: Runtime, runtime: Runtime, refs: Map<string, Set<string>>, log: (line: string) => void = () => {}): Promise<void> {
  const primary = { name: 'the engine acklab builds on', address: source.engine.host, runtime: source };
  for (const m of engineMembers(runtime)) {
    if (m.runtime === source) continue;
    for (const ref of refs.get(m.name) ?? []) {
      if (await m.runtime.images.exists(ref)) continue;
      const started = Date.now();
      try {
        await m.runtime.images.load(await primary.runtime.images.save([ref]));
      } catch (err) {
        throw new AcklabError(`could not load image ${ref} onto engine "${m.name}" (${m.address}) from ${primary.address}: ${errorMessage(err)}`, 1, { cause: err });
      }
      if (!(await m.runtime.images.exists(ref))) throw new AcklabError(`image ${ref} was loaded onto engine "${m.name}" (${m.address}) but is not there`);
      log(`${ref} loaded onto engine "${m.name}" in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }
}
