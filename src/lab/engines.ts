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

/**
 * A lab over several engines needs them in one swarm, the first a manager (it makes the networks):
 * checked before anything is made, with what to do for each engine that is not. acklab uses a swarm
 * as it finds it; it never makes, joins or leaves one. An engine that does not say (no swarm facts)
 * is not judged.
 */
export async function checkSwarm(runtime: Runtime, topology: Topology): Promise<void> {
  const listed = topology.engines ?? [];
  if (listed.length < 2) return;
  const members = listed.map((e) => engineMembers(runtime).find((m) => m.name === e.name)!);
  const swarms = await Promise.all(members.map(async (m) => (await m.runtime.engine.facts()).swarm));
  const first = members[0]!;
  const lead = swarms[0];
  const problems: string[] = [];
  const named = (m: EngineMember) => `engine "${m.name}" (${m.address})`;
  if (lead && lead.state !== 'active') problems.push(`${named(first)} is not in a swarm (state ${lead.state}): \`docker swarm init --advertise-addr ADDR\` there`);
  else if (lead && !lead.manager) problems.push(`${named(first)} is a swarm worker; the first engine listed makes the lab's networks and must be a manager: list a manager first, or \`docker node promote\` it`);
  for (const [i, m] of members.entries()) {
    const s = swarms[i];
    if (i === 0 || !s || !lead || lead.state !== 'active') continue;
    if (s.state !== 'active') {
      problems.push(`${named(m)} is not in a swarm (state ${s.state}): join it to ${first.name}'s (\`docker swarm join-token worker\` on ${first.name} prints the command)`);
    } else if (!s.managers.some((addr) => addr.startsWith(`${lead.nodeAddr}:`))) {
      problems.push(`${named(m)} is in another swarm (its managers: ${s.managers.join(', ') || 'none known'}; ${first.name} advertises ${lead.nodeAddr}): leave it and join ${first.name}'s`);
    }
  }
  if (problems.length > 0) {
    throw new AcklabError(`the engines of a lab must form one swarm (acklab uses one, it does not make one):\n${problems.map((p) => `  - ${p}`).join('\n')}`, 2);
  }
}
