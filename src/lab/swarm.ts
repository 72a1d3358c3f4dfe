/**
 * The swarm a lab over several engines runs on. Its networks are attachable overlay networks, so
 * the engines must form one swarm with the first a manager. Under `swarm: existing` (the default)
 * acklab uses the swarm as it finds it and says what to run where it is not right; under
 * `swarm: form` it makes the first engine a manager and joins the others where they are in no
 * swarm, marking the swarm and each node it made. A swarm acklab made is unmade again by the
 * removal of the last lab on it (releaseSwarms): the workers it joined leave, then the manager; an
 * engine it joined to a swarm it found leaves it again. A swarm acklab found, and an engine that
 * was in a swarm before, are left as they were.
 */
import { AcklabError, LABELS, decodeEngines, errorMessage, labelFilter } from '../common/index.js';
import { engineMembers, type EngineMember, type EngineSwarm, type Runtime, type SwarmNode } from '../runtime/index.js';
import type { Topology } from '../topology/index.js';

/** The swarm port a manager listens on (`docker swarm init` default). */
export const SWARM_PORT = 2377;
/** Marks on a swarm acklab made and on the nodes it put in one. */
export const FORMED = 'formed';

const named = (m: EngineMember) => `engine "${m.name}" (${m.address})`;

/** The topology's engines as members of `runtime`, in the topology's order. */
function listedMembers(runtime: Runtime, topology: Topology): EngineMember[] {
  return (topology.engines ?? []).map((e) => {
    const m = engineMembers(runtime).find((x) => x.name === e.name);
    if (!m) throw new AcklabError(`engine "${e.name}" is not part of the lab's runtime`);
    return m;
  });
}

const swarmOf = async (m: EngineMember): Promise<EngineSwarm | undefined> => (await m.runtime.engine.facts()).swarm;

/** The address a worker joins the manager `lead` at: the manager it knows as itself, else its address on :2377. */
function managerAddress(lead: EngineSwarm): string {
  return lead.managers.find((a) => a.startsWith(`${lead.nodeAddr}:`)) ?? `${lead.nodeAddr}:${SWARM_PORT}`;
}

/**
 * A lab over several engines needs them in one swarm, the first a manager (it makes the networks):
 * checked before any network is made, with what to do for each engine that is not. An engine that
 * does not say (no swarm facts) is not judged.
 */
export async function checkSwarm(runtime: Runtime, topology: Topology): Promise<void> {
  const members = listedMembers(runtime, topology);
  if (members.length < 2) return;
  const swarms = await Promise.all(members.map(swarmOf));
  const first = members[0]!;
  const lead = swarms[0];
  const problems: string[] = [];
  if (lead && lead.state !== 'active') problems.push(`${named(first)} is not in a swarm (state ${lead.state}): \`docker swarm init --advertise-addr ADDR\` there, or say swarm: form`);
  else if (lead && !lead.manager) problems.push(`${named(first)} is a swarm worker; the first engine listed makes the lab's networks and must be a manager: list a manager first, or \`docker node promote\` it`);
  for (const [i, m] of members.entries()) {
    const s = swarms[i];
    if (i === 0 || !s || !lead || lead.state !== 'active') continue;
    if (s.state !== 'active') {
      problems.push(`${named(m)} is not in a swarm (state ${s.state}): join it to ${first.name}'s (\`docker swarm join-token worker\` on ${first.name} prints the command), or say swarm: form`);
    } else if (!s.managers.some((addr) => addr.startsWith(`${lead.nodeAddr}:`))) {
      problems.push(`${named(m)} is in another swarm (its managers: ${s.managers.join(', ') || 'none known'}; ${first.name} advertises ${lead.nodeAddr}): leave it and join ${first.name}'s`);
    }
  }
  if (problems.length > 0) {
    const how = topology.swarm === 'form' ? 'acklab forms one only from engines in no swarm' : 'acklab uses one as it is (swarm: existing)';
    throw new AcklabError(`the engines of a lab must form one swarm (${how}):\n${problems.map((p) => `  - ${p}`).join('\n')}`, 2);
  }
}

/**
 * `swarm: form`: the first engine, when in no swarm, starts one (marked as acklab's) and becomes
 * its manager; every other engine in no swarm joins it as a worker. Engines already in the first
 * one's swarm stay as they are; anything else is refused by checkSwarm, which runs last. Returns
 * what it did, for the progress lines. A failure part-way leaves marks enough for
 * releaseSwarms (which the failed start's cleanup runs) to undo it.
 */
export async function formSwarm(runtime: Runtime, topology: Topology, log: (line: string) => void = () => {}): Promise<string[]> {
  const members = listedMembers(runtime, topology);
  const advertise = new Map((topology.engines ?? []).map((e) => [e.name, e.advertise]));
  const done: string[] = [];
  const first = members[0]!;
  // Every engine answers before anything changes: one that cannot be reached (down, or an ssh host
  // key that does not match) fails the start here, not after the first has made a swarm.
  let lead = (await Promise.all(members.map(swarmOf)))[0];
  if (!lead) return done;
  if (lead.state === 'inactive') {
    const addr = advertise.get(first.name);
    try {
      await first.runtime.engine.swarm.init({ ...(addr ? { advertiseAddr: addr } : {}), labels: { [LABELS.swarm]: FORMED } });
    } catch (err) {
      throw new AcklabError(
        `could not form a swarm on ${named(first)}: ${errorMessage(err)}${addr ? '' : `; if it has several addresses, say which to advertise: engines: { ${first.name}: { address: …, advertise: IP } }`}`,
        1,
        { cause: err },
      );
    }
    lead = (await swarmOf(first))!;
    await markOrUndo(first, first, lead.nodeId, 'manager');
    done.push(`${first.name} made a swarm, advertising ${lead.nodeAddr}`);
    log(`swarm: ${done.at(-1)}`);
  }
  if (lead.state !== 'active' || !lead.manager) {
    await checkSwarm(runtime, topology);
    return done;
  }
  const manager = managerAddress(lead);
  let token: string | undefined;
  for (const m of members.slice(1)) {
    const s = await swarmOf(m);
    if (!s || s.state !== 'inactive') continue;
    token ??= (await first.runtime.engine.swarm.inspect()).workerToken;
    const addr = advertise.get(m.name);
    try {
      await m.runtime.engine.swarm.join({ managerAddr: manager, token, ...(addr ? { advertiseAddr: addr } : {}) });
    } catch (err) {
      throw new AcklabError(
        `${named(m)} could not join ${first.name}'s swarm at ${manager}: ${errorMessage(err)}; ${m.name} must reach ${manager} (2377/tcp) and ${first.name} must reach the address ${m.name} advertises${addr ? ` (${addr})` : ` (say it: engines: { ${m.name}: { address: …, advertise: IP } })`}`,
        1,
        { cause: err },
      );
    }
    const joined = (await swarmOf(m))!;
    await markOrUndo(first, m, joined.nodeId, 'worker');
    done.push(`${m.name} joined it, advertising ${joined.nodeAddr}`);
    log(`swarm: ${done.at(-1)}`);
  }
  await checkSwarm(runtime, topology);
  return done;
}

/** Marks the node `m` became as acklab's; unmarked it would never be unmade, so it leaves again if the mark fails. */
async function markOrUndo(manager: EngineMember, m: EngineMember, nodeId: string, role: 'manager' | 'worker'): Promise<void> {
  try {
    await manager.runtime.engine.swarm.labelNode(nodeId, { [LABELS.swarm]: role });
  } catch (err) {
    await m.runtime.engine.swarm.leave(role === 'manager').catch(() => undefined);
    throw new AcklabError(`${named(m)}: could not mark its swarm node as acklab's, so it left the swarm again: ${errorMessage(err)}`, 1, { cause: err });
  }
}

/**
 * Undoes what formSwarm did once no lab needs it, so each swarm is left as acklab found it: a
 * swarm acklab formed is unmade (the workers leave, then the manager) when no lab's lease on
 * these engines records an engine of it, it has no network but its own `ingress`, no service, and
 * every node of it is one acklab put there and reached here; else each worker acklab joined to it
 * of a swarm acklab found leaves it (and is taken off the manager's list) once no lease records its
 * engine and no acklab container is on it. Returns a line per thing undone, or kept while acklab's.
 */
export async function releaseSwarms(runtime: Runtime): Promise<string[]> {
  const members = engineMembers(runtime);
  if (members.length < 2) return [];
  const swarms = await Promise.all(members.map((m) => swarmOf(m).catch(() => undefined)));
  const memberOf = new Map(members.flatMap((m, j) => (swarms[j]?.nodeId ? [[swarms[j]!.nodeId, m] as const] : [])));
  const recorded = new Set(
    (await runtime.containers.list([...labelFilter({ role: 'lease' }), LABELS.engines])).flatMap((c) => decodeEngines(c.labels[LABELS.engines]).map((e) => e.address)),
  );
  const lines: string[] = [];
  for (const [i, lead] of swarms.entries()) {
    if (!lead || lead.state !== 'active' || !lead.manager) continue;
    const manager = members[i]!;
    const info = await manager.runtime.engine.swarm.inspect().catch(() => undefined);
    if (!info) continue;
    const nodes = await manager.runtime.engine.swarm.nodes();
    const inSwarm = nodes.flatMap((n) => (memberOf.has(n.id) ? [memberOf.get(n.id)!] : []));
    if (info.labels[LABELS.swarm] === FORMED) {
      const holdUp = await whatHoldsUp(manager, nodes, memberOf, inSwarm.filter((m) => recorded.has(m.address)));
      if (!holdUp) {
        for (const n of nodes) if (n.role === 'worker') await workerLeaves(memberOf.get(n.id)!);
        await manager.runtime.engine.swarm.leave(true);
        lines.push(`unmade the swarm acklab formed on ${manager.name} (${nodes.length} engine${nodes.length === 1 ? '' : 's'})`);
        continue;
      }
      // All of it stays: what uses it may use any of its engines.
      lines.push(`the swarm acklab formed on ${manager.name} stays: ${holdUp}`);
      continue;
    }
    for (const n of nodes) {
      const m = memberOf.get(n.id);
      if (n.role !== 'worker' || n.labels[LABELS.swarm] !== 'worker' || !m || recorded.has(m.address)) continue;
      if ((await m.runtime.containers.list(labelFilter({}))).length > 0) continue;
      await workerLeaves(m);
      await manager.runtime.engine.swarm.removeNode(n.id);
      lines.push(`${m.name} left ${manager.name}'s swarm, which acklab had joined it to`);
    }
  }
  return lines;
}

/**
 * A worker leaves its swarm. An orderly leave waits for the manager to take back the worker's tasks
 * and can time out ("context deadline exceeded") when the swarm's gossip is stuck; the worker is then
 * made to leave (`--force`), which for a worker only drops its own swarm state.
 */
async function workerLeaves(m: EngineMember): Promise<void> {
  await m.runtime.engine.swarm.leave(false).catch(() => m.runtime.engine.swarm.leave(true));
}

/** Why the swarm acklab formed, led by `manager`, must stay, or undefined when nothing uses it. */
async function whatHoldsUp(manager: EngineMember, nodes: SwarmNode[], memberOf: Map<string, EngineMember>, recordedBy: EngineMember[]): Promise<string | undefined> {
  const foreign = nodes.find((n) => !n.labels[LABELS.swarm] || !memberOf.has(n.id));
  if (foreign) return `node ${foreign.id.slice(0, 12)} ${foreign.labels[LABELS.swarm] ? 'is on an engine not reached from here' : 'was not put in it by acklab'}`;
  // A lab between forming (or finding) the swarm and making its networks has no network yet, but its lease.
  if (recordedBy.length > 0) return `a lab on ${recordedBy.map((m) => m.name).join(', ')} uses it`;
  const networks = (await manager.runtime.networks.list()).filter((n) => n.driver === 'overlay' && n.name !== 'ingress');
  if (networks.length > 0) return `networks ${networks.map((n) => n.name).join(', ')} are on it`;
  const services = await manager.runtime.engine.swarm.serviceCount();
  if (services > 0) return `it runs ${services} service${services === 1 ? '' : 's'}`;
  return undefined;
}
