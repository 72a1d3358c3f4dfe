/**
 * One Runtime over several engines (a lab spread over the engines of a swarm), so everything above
 * src/runtime — the lab, the impairment layer, cleanup, every verb — works unchanged:
 *
 *  - a container is created on the engine its `dev.acklab.engine` label names; a sidecar
 *    (`networkMode: { container }`) on its node's engine; anything else (a lab's lease) on the
 *    primary, the first — the engine acklab talks to, where verbs look for labs;
 *  - every operation on a container goes to the engine that has it (remembered from create and
 *    list, else asked of each engine in turn);
 *  - lists are the union over the engines; networks are created on one engine (a swarm manager:
 *    attachable overlay networks are made there and reach the others on attach);
 *  - images are the primary's (the first): the lab loads them onto the others itself (save | load).
 */
import { AcklabError, LABELS, errorMessage } from '../common/index.js';
import type { ContainerClient, ContainerInfo, ContainerSpec, EngineMember, NetworkClient, NetworkInfo, NetworkSpec, Runtime } from './types.js';

export interface MultiEngineOptions {
  /** The engine networks are created on (a manager of the engines' swarm); default the first. */
  networks?: string;
}

export function multiEngineRuntime(members: readonly EngineMember[], options: MultiEngineOptions = {}): Runtime {
  if (members.length === 0) throw new AcklabError('a runtime over several engines needs at least one engine');
  const names = new Set<string>();
  for (const m of members) {
    if (names.has(m.name)) throw new AcklabError(`engine "${m.name}" is named twice`);
    names.add(m.name);
  }
  const primary = members[0]!.runtime;
  const networkEngine = options.networks === undefined ? members[0]! : members.find((m) => m.name === options.networks);
  if (!networkEngine) throw new AcklabError(`networks engine "${options.networks}" is none of ${[...names].join(', ')}`);
  const containers = new MultiContainers(members);
  return {
    containers,
    networks: new MultiNetworks(members, containers, networkEngine),
    images: primary.images,
    engine: primary.engine,
    members,
  };
}

/** The engines of a runtime: its members, or itself as the one engine "default". */
export function engineMembers(runtime: Runtime): readonly EngineMember[] {
  return runtime.members ?? [{ name: 'default', address: runtime.engine.host, runtime }];
}

class MultiContainers implements ContainerClient {
  private readonly owner = new Map<string, EngineMember>();

  constructor(private readonly members: readonly EngineMember[]) {}

  /** The engine that has container `id` (an id, a prefix of one, or a name). */
  async memberOf(id: string): Promise<EngineMember> {
    const known = this.owner.get(id);
    if (known) return known;
    let firstError: unknown;
    for (const m of this.members) {
      try {
        const info = await m.runtime.containers.inspect(id);
        this.owner.set(id, m);
        this.owner.set(info.id, m);
        return m;
      } catch (err) {
        firstError ??= err;
      }
    }
    throw new AcklabError(`no engine of ${this.members.map((m) => m.name).join(', ')} has container ${id.slice(0, 12)}: ${errorMessage(firstError)}`, 1, { cause: firstError });
  }

  private async on<T>(id: string, op: (c: ContainerClient) => Promise<T>): Promise<T> {
    return op((await this.memberOf(id)).runtime.containers);
  }

  async create(spec: ContainerSpec): Promise<string> {
    const wanted = spec.labels[LABELS.engine];
    let member: EngineMember;
    if (wanted !== undefined) {
      const named = this.members.find((m) => m.name === wanted);
      if (!named) throw new AcklabError(`container ${spec.name ?? spec.image}: no engine named "${wanted}"; engines: ${this.members.map((m) => m.name).join(', ')}`, 2);
      member = named;
    } else if (typeof spec.networkMode === 'object') {
      member = await this.memberOf(spec.networkMode.container);
    } else {
      member = this.members[0]!;
    }
    const id = await member.runtime.containers.create(spec);
    this.owner.set(id, member);
    return id;
  }

  async list(labels: string[]): Promise<ContainerInfo[]> {
    const lists = await Promise.all(
      this.members.map((m) =>
        m.runtime.containers.list(labels).then(
          (found) => found.map((c) => (this.owner.set(c.id, m), c)),
          (err: unknown) => {
            throw new AcklabError(`engine "${m.name}" (${m.address}): ${errorMessage(err)}`, 1, { cause: err });
          },
        ),
      ),
    );
    return lists.flat();
  }

  start = (id: string) => this.on(id, (c) => c.start(id));
  inspect = (id: string) => this.on(id, (c) => c.inspect(id));
  stop = (id: string, graceMs: number) => this.on(id, (c) => c.stop(id, graceMs));
  kill = (id: string, signal?: string) => this.on(id, (c) => c.kill(id, signal));
  pause = (id: string) => this.on(id, (c) => c.pause(id));
  unpause = (id: string) => this.on(id, (c) => c.unpause(id));
  wait = (id: string) => this.on(id, (c) => c.wait(id));
  logs: ContainerClient['logs'] = (id, options) => this.on(id, (c) => c.logs(id, options));
  followLogs: ContainerClient['followLogs'] = (id, out, err, options) => this.on(id, (c) => c.followLogs(id, out, err, options));
  exec: ContainerClient['exec'] = (id, argv, options) => this.on(id, (c) => c.exec(id, argv, options));
  execStream: ContainerClient['execStream'] = (id, argv, out, err) => this.on(id, (c) => c.execStream(id, argv, out, err));
  execDetached: ContainerClient['execDetached'] = (id, argv) => this.on(id, (c) => c.execDetached(id, argv));
  openExec: ContainerClient['openExec'] = (id, argv) => this.on(id, (c) => c.openExec(id, argv));
  copyFileOut: ContainerClient['copyFileOut'] = (id, path) => this.on(id, (c) => c.copyFileOut(id, path));
  archiveOut: ContainerClient['archiveOut'] = (id, path) => this.on(id, (c) => c.archiveOut(id, path));
  listeningPorts: ContainerClient['listeningPorts'] = (id) => this.on(id, (c) => c.listeningPorts(id));

  /** A container no engine has is already removed. */
  async remove(id: string): Promise<void> {
    let member: EngineMember;
    try {
      member = await this.memberOf(id);
    } catch {
      return;
    }
    await member.runtime.containers.remove(id);
    for (const [key, m] of this.owner) if (m === member && (key === id || id.startsWith(key) || key.startsWith(id))) this.owner.delete(key);
  }
}

class MultiNetworks implements NetworkClient {
  constructor(
    private readonly members: readonly EngineMember[],
    private readonly containers: MultiContainers,
    private readonly creator: EngineMember,
  ) {}

  create(spec: NetworkSpec): Promise<NetworkInfo> {
    return this.creator.runtime.networks.create(spec);
  }

  /** Every engine's networks, each once (an overlay network shows on every engine that has a container on it). */
  async list(labels?: string[]): Promise<NetworkInfo[]> {
    const lists = await Promise.all(this.members.map((m) => m.runtime.networks.list(labels)));
    const byId = new Map<string, NetworkInfo>();
    for (const n of lists.flat()) if (!byId.has(n.id)) byId.set(n.id, n);
    return [...byId.values()];
  }

  async connect(networkId: string, containerId: string, aliases: string[]): Promise<void> {
    const member = await this.containers.memberOf(containerId);
    await member.runtime.networks.connect(networkId, containerId, aliases);
  }

  /**
   * Removed by the engines that list it, the networks engine first, until one succeeds (a swarm's
   * overlay network goes from a manager; a worker may refuse). None listing it: already gone. Then
   * waits (bounded) until no engine lists it: the swarm takes it off the workers a moment later, and
   * a network made meanwhile may be given its VXLAN id while a worker still has the old one.
   */
  async remove(id: string): Promise<void> {
    const order = [this.creator, ...this.members.filter((m) => m !== this.creator)];
    const listedOn = async (m: EngineMember) => (await m.runtime.networks.list().catch(() => [])).some((n) => n.id === id);
    let firstError: unknown;
    let removed = false;
    for (const m of order) {
      if (!(await listedOn(m))) continue;
      try {
        await m.runtime.networks.remove(id);
        removed = true;
        break;
      } catch (err) {
        firstError ??= err;
      }
    }
    if (!removed) {
      if (firstError !== undefined) throw firstError;
      return;
    }
    const deadline = Date.now() + GONE_WAIT_MS;
    for (;;) {
      const still = (await Promise.all(this.members.map(listedOn))).some(Boolean);
      if (!still || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, GONE_POLL_MS));
    }
  }
}

/** How long a network removal waits for the swarm to take the network off every engine. */
export const GONE_WAIT_MS = 10_000;
const GONE_POLL_MS = 100;
