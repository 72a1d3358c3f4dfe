/**
 * An in-memory Runtime for orchestration tests: records calls, simulates readiness per node,
 * container lifecycles, exec (answered by a per-test handler) and copy-out of files tests put in.
 */
import { PassThrough, Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { NameConflictError } from '../../src/runtime/index.js';
import type {
  BuildSpec,
  ContainerClient,
  ContainerInfo,
  ContainerSpec,
  EngineClient,
  EngineFacts,
  EngineSwarm,
  ExecResult,
  SwarmClient,
  ExecSession,
  ImageClient,
  ImageInfo,
  NetworkClient,
  NetworkInfo,
  NetworkSpec,
  Runtime,
} from '../../src/runtime/index.js';

export interface FakeBehaviour {
  /** Node names whose port never opens. */
  neverReady?: Set<string>;
  /** Node names that exit with status 3 right after start. */
  crash?: Set<string>;
  /** Subnets of networks that exist before the lab (name → subnet). */
  existingNetworks?: Record<string, string>;
  /** Answers an exec; default: exit 0 with `<node>: <argv>` on stdout. */
  exec?: (node: string, argv: string[], container: FakeContainer) => ExecResult | undefined;
  /** Images that are not on the engine. */
  missingImages?: Set<string>;
  /** How many network creates fail as if another process took the subnet first ("Pool overlaps"). */
  overlaps?: number;
  /** Images matching this are absent until a build (or tag) makes them. */
  absentUntilBuilt?: RegExp;
  /** How many orderly (not forced) swarm leaves time out, as a worker's does when the swarm's gossip is stuck. */
  orderlyLeavesFail?: number;
  /** The engine does not answer (facts fail with this reason), as one behind ssh with a host key that does not match. */
  unreachable?: string;
  /** A build of this tag fails with this message. */
  failBuild?: (spec: BuildSpec) => string | undefined;
  /** ENTRYPOINT and CMD that inspect reports, per image ref. */
  imageConfig?: Record<string, { entrypoint?: string[]; cmd?: string[] }>;
  /** Prefix of container and network ids (engines of one multi-engine runtime need distinct ids). */
  idPrefix?: string;
  /** The engine's address (default fake://engine). */
  host?: string;
  /** What the engine says of its swarm (absent: it says nothing); init, join and leave change it. */
  swarm?: EngineSwarm;
  /** Where swarms made by init live, so other fake engines can join them (one per test). */
  swarms?: FakeSwarms;
  /** The address the engine advertises when init/join name none (default: none found, as on a host with several). */
  defaultAdvertise?: string;
}

interface FakeSwarmNode {
  engine: FakeRuntime;
  role: 'manager' | 'worker';
  addr: string;
  labels: Record<string, string>;
}

/** The swarms of a test's fake engines, by manager address (host:2377). */
export class FakeSwarms {
  readonly byManager = new Map<string, { id: string; labels: Record<string, string>; token: string; services: number; nodes: Map<string, FakeSwarmNode> }>();
  private seq = 0;
  nextId(kind: string): string {
    return `${kind}${++this.seq}`;
  }
  /** The swarm `engine` is a node of. */
  of(engine: FakeRuntime) {
    return [...this.byManager.values()].find((s) => [...s.nodes.values()].some((n) => n.engine === engine));
  }
}

export interface FakeContainer extends ContainerInfo {
  spec: ContainerSpec;
  networks: string[];
  startedTick?: number;
  /** Files a test put into the container, for copyFileOut. */
  files: Map<string, string>;
  logText: string;
}

const matches = (labels: Record<string, string>, filter: string[]) =>
  filter.every((f) => {
    const [k, v] = f.split('=');
    return v === undefined ? k! in labels : labels[k!] === v;
  });

/** Overlay networks by id: attachable from every fake engine, as a swarm's are. */
const overlayNetworks = new Map<string, NetworkInfo>();

export class FakeRuntime implements Runtime {
  readonly events: string[] = [];
  readonly containersById = new Map<string, FakeContainer>();
  readonly networksById = new Map<string, NetworkInfo>();
  private seq = 0;
  private tick = 0;

  engine: EngineClient;

  constructor(readonly behaviour: FakeBehaviour = {}) {
    const host = behaviour.host ?? 'fake://engine';
    this.engine = {
      host,
      facts: async () => {
        if (behaviour.unreachable) throw new Error(`no Docker engine answers at ${host} (${behaviour.unreachable})`);
        return this.factsNow(host);
      },
      swarm: this.fakeSwarm(),
    };
    for (const [name, subnet] of Object.entries(behaviour.existingNetworks ?? {})) {
      this.networksById.set(`pre-${name}`, { id: `pre-${name}`, name, labels: {}, subnets: [subnet] });
    }
  }

  private factsNow(host: string): EngineFacts {
    return {
      version: 'fake',
      apiVersion: '1.41',
      storageDriver: 'overlay2',
      cgroupVersion: '1',
      cgroupDriver: 'cgroupfs',
      kernelVersion: 'fake',
      operatingSystem: 'fake',
      host,
      ...(this.behaviour.swarm ? { swarm: { ...this.behaviour.swarm } } : {}),
    };
  }

  /** Swarm mode over behaviour.swarms: what init/join/leave/node update do, recorded in events. */
  private fakeSwarm(): SwarmClient {
    const world = () => {
      if (!this.behaviour.swarms) throw new Error('fake engine: no swarms to form');
      return this.behaviour.swarms;
    };
    const managed = () => {
      const s = world().of(this);
      if (!s || this.behaviour.swarm?.manager !== true) throw new Error('This node is not a swarm manager.');
      return s;
    };
    const addressOf = (given?: string) => {
      const addr = given ?? this.behaviour.defaultAdvertise;
      if (!addr) throw new Error('could not choose an IP address to advertise since this system has multiple addresses');
      return addr.replace(/:\d+$/, '');
    };
    return {
      init: async ({ advertiseAddr, labels }) => {
        if (this.behaviour.swarm?.state === 'active') throw new Error('This node is already part of a swarm.');
        const addr = addressOf(advertiseAddr);
        const nodeId = world().nextId('node');
        world().byManager.set(`${addr}:2377`, { id: world().nextId('swarm'), labels, token: world().nextId('SWMTKN-'), services: 0, nodes: new Map([[nodeId, { engine: this, role: 'manager', addr, labels: {} }]]) });
        this.behaviour.swarm = { state: 'active', manager: true, nodeAddr: addr, managers: [`${addr}:2377`], nodeId };
        this.events.push(`swarm init ${addr}`);
      },
      join: async ({ managerAddr, token, advertiseAddr }) => {
        if (this.behaviour.swarm?.state === 'active') throw new Error('This node is already part of a swarm.');
        const s = world().byManager.get(managerAddr);
        if (!s) throw new Error(`could not connect to ${managerAddr}: connection refused`);
        if (s.token !== token) throw new Error('invalid join token');
        const addr = addressOf(advertiseAddr);
        const nodeId = world().nextId('node');
        s.nodes.set(nodeId, { engine: this, role: 'worker', addr, labels: {} });
        this.behaviour.swarm = { state: 'active', manager: false, nodeAddr: addr, managers: [managerAddr], nodeId };
        this.events.push(`swarm join ${managerAddr} as ${addr}`);
      },
      leave: async (force) => {
        const s = world().of(this);
        if (!s || this.behaviour.swarm?.state !== 'active') throw new Error('This node is not part of a swarm');
        if (this.behaviour.swarm.manager && !force) throw new Error('You are attempting to leave the swarm on a node that is participating as a manager.');
        if (!force && (this.behaviour.orderlyLeavesFail ?? 0) > 0) {
          this.behaviour.orderlyLeavesFail! -= 1;
          this.events.push('swarm leave failed');
          throw new Error('swarm leave on the engine: (HTTP code 500) unexpected - context deadline exceeded');
        }
        // A worker that leaves stays on the manager's list (down) until `node rm`; a manager takes the swarm with it.
        if (this.behaviour.swarm.manager) world().byManager.delete(this.behaviour.swarm.managers[0]!);
        else s.nodes.get(this.behaviour.swarm.nodeId)!.engine = new FakeRuntime();
        this.behaviour.swarm = { state: 'inactive', manager: false, nodeAddr: '', managers: [], nodeId: '' };
        this.events.push(`swarm leave${force ? ' --force' : ''}`);
      },
      inspect: async () => {
        const s = managed();
        return { id: s.id, labels: s.labels, workerToken: s.token };
      },
      nodes: async () => [...managed().nodes.entries()].map(([id, n]) => ({ id, role: n.role, addr: n.addr, labels: n.labels })),
      labelNode: async (id, labels) => {
        const n = managed().nodes.get(id);
        if (!n) throw new Error(`node ${id} not found`);
        Object.assign(n.labels, labels);
      },
      removeNode: async (id) => {
        if (!managed().nodes.delete(id)) throw new Error(`node ${id} not found`);
        this.events.push(`swarm node rm ${id}`);
      },
      serviceCount: async () => managed().services,
    };
  }

  /** A network of this engine, or an overlay network another fake engine made (a swarm's reach every engine). */
  private networkById(id: string): NetworkInfo | undefined {
    return this.networksById.get(id) ?? overlayNetworks.get(id);
  }

  /** The container's node name (its hostname), or its id when it has none. */
  nodeOf(id: string): string {
    const c = this.containersById.get(id);
    return c?.spec.hostname ?? c?.name ?? id;
  }

  /** The container of a node (by hostname). */
  containerOf(node: string): FakeContainer {
    const c = [...this.containersById.values()].find((x) => x.spec.hostname === node);
    if (!c) throw new Error(`no container for node ${node}`);
    return c;
  }

  networks: NetworkClient = {
    create: async (spec: NetworkSpec) => {
      if ((this.behaviour.overlaps ?? 0) > 0) {
        this.behaviour.overlaps!--;
        this.events.push(`network! ${spec.name} ${spec.subnet}`);
        throw new Error(`docker: create network ${spec.name} (${spec.subnet}): Pool overlaps with other one on this address space`);
      }
      const id = `${this.behaviour.idPrefix ?? ''}net${++this.seq}`;
      const info: NetworkInfo = { id, name: spec.name, labels: spec.labels, subnets: [spec.subnet ?? `10.99.${this.seq}.0/24`], driver: spec.driver ?? 'bridge', ...(spec.vxlanId === undefined ? {} : { vxlanId: spec.vxlanId }) };
      this.networksById.set(id, info);
      if (spec.driver === 'overlay') overlayNetworks.set(id, info);
      this.events.push(`network+ ${spec.name} ${info.subnets[0]}`);
      return info;
    },
    list: async (labels?: string[]) => [...this.networksById.values()].filter((n) => !labels || matches(n.labels, labels)),
    connect: async (networkId: string, containerId: string, aliases: string[]) => {
      const c = this.containersById.get(containerId)!;
      const net = this.networkById(networkId)!;
      c.networks.push(net.name);
      this.events.push(`connect ${this.nodeOf(containerId)} ${net.name} as ${aliases.join(',')}`);
    },
    remove: async (id: string) => {
      this.events.push(`network- ${this.networksById.get(id)?.name}`);
      this.networksById.delete(id);
      overlayNetworks.delete(id);
    },
  };

  private container(id: string): FakeContainer {
    const c = this.containersById.get(id);
    if (!c) throw new Error(`no container ${id}`);
    return c;
  }

  private exit(c: FakeContainer, code: number): void {
    Object.assign(c, { state: 'exited', running: false, paused: false, exitCode: code });
  }

  containers: ContainerClient = {
    create: async (spec: ContainerSpec) => {
      // Names are claimed atomically, as by the engine (a lab's lease relies on it).
      if (spec.name !== undefined && [...this.containersById.values()].some((c) => c.name === spec.name)) {
        throw new NameConflictError(spec.name, `docker: create container ${spec.name}: Conflict. The container name "/${spec.name}" is already in use`);
      }
      const id = `${this.behaviour.idPrefix ?? ''}c${++this.seq}`;
      const net = spec.network ? this.networkById(spec.network.id)! : undefined;
      this.containersById.set(id, {
        id,
        name: spec.name ?? id,
        image: spec.image,
        labels: spec.labels,
        state: 'created',
        running: false,
        paused: false,
        exitCode: 0,
        pid: 0,
        addresses: {},
        spec,
        networks: net ? [net.name] : [],
        files: new Map(),
        logText: '',
      });
      this.events.push(`create ${spec.hostname ?? spec.name ?? id}`);
      return id;
    },
    start: async (id: string) => {
      const c = this.container(id);
      const node = this.nodeOf(id);
      c.startedTick = ++this.tick;
      if (this.behaviour.crash?.has(node)) this.exit(c, 3);
      else Object.assign(c, { state: 'running', running: true });
      c.addresses = Object.fromEntries(c.networks.map((n, i) => [n, `10.0.${i}.${c.startedTick}`]));
      c.logText ||= `hello from ${node}\nlast line of ${node}\n`;
      this.events.push(`start ${node}`);
    },
    inspect: async (id: string) => this.container(id),
    list: async (labels: string[]) => [...this.containersById.values()].filter((c) => matches(c.labels, labels)),
    stop: async (id: string) => {
      const c = this.containersById.get(id);
      if (!c?.running) return;
      this.exit(c, 0);
      this.events.push(`stop ${this.nodeOf(id)}`);
    },
    kill: async (id: string, signal = 'SIGKILL') => {
      const c = this.containersById.get(id);
      if (!c?.running) return;
      this.exit(c, signal === 'SIGKILL' ? 137 : 143);
      this.events.push(`kill ${this.nodeOf(id)} ${signal}`);
    },
    pause: async (id: string) => {
      Object.assign(this.container(id), { state: 'paused', paused: true });
      this.events.push(`pause ${this.nodeOf(id)}`);
    },
    unpause: async (id: string) => {
      Object.assign(this.container(id), { state: 'running', paused: false });
      this.events.push(`unpause ${this.nodeOf(id)}`);
    },
    wait: async (id: string) => this.container(id).exitCode,
    remove: async (id: string) => {
      this.events.push(`remove ${this.nodeOf(id)}`);
      this.containersById.delete(id);
    },
    logs: async (id: string, options = {}) => (options.stream === 'stderr' ? '' : this.container(id).logText),
    followLogs: async () => {},
    exec: async (id: string, argv: string[]) => this.execOn(id, argv),
    execStream: async (id: string, argv: string[], out: NodeJS.WritableStream) => {
      const r = this.execOn(id, argv);
      out.write(r.stdout);
      return r.exitCode;
    },
    execDetached: async (id: string, argv: string[]) => void this.events.push(`spawn ${this.nodeOf(id)} ${argv.join(' ')}`),
    openExec: async (id: string, argv: string[]): Promise<ExecSession> => {
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const input: Buffer[] = [];
      stdin.on('data', (c: Buffer) => input.push(c));
      const exited = new Promise<number>((resolve) =>
        stdin.on('end', () => {
          const r = this.execOn(id, [...argv, Buffer.concat(input).toString()]);
          stdout.end(r.stdout);
          stderr.end(r.stderr);
          resolve(r.exitCode);
        }),
      );
      return { stdin, stdout, stderr, exited, close: () => stdin.end() };
    },
    copyFileOut: async (id: string, path: string) => {
      const content = this.container(id).files.get(path);
      return content === undefined ? undefined : Buffer.from(content);
    },
    // `docker cp`'s archive: PATH's own name at the top, a file or a directory of the files under it.
    archiveOut: async (id: string, path: string) => {
      const files = [...this.container(id).files].filter(([f]) => f === path || f.startsWith(`${path.replace(/\/+$/, '')}/`));
      if (files.length === 0) return undefined;
      const top = path.replace(/\/+$/, '').split('/').pop()!;
      const tar = pack();
      if (!(files.length === 1 && files[0]![0] === path)) tar.entry({ name: `${top}/`, type: 'directory' });
      for (const [f, content] of files) tar.entry({ name: f === path ? top : `${top}${f.slice(path.replace(/\/+$/, '').length)}` }, content);
      tar.finalize();
      return Readable.from(tar);
    },
    listeningPorts: async (id: string) => {
      const c = this.container(id);
      const node = this.nodeOf(id);
      if (this.behaviour.neverReady?.has(node) || !c.running) return new Set<number>();
      this.events.push(`ready ${node}`);
      return new Set([8881, 8888, 9000]);
    },
  };

  private execOn(id: string, argv: string[]): ExecResult {
    const c = this.container(id);
    const node = this.nodeOf(id);
    this.events.push(`exec ${node} ${argv.join(' ')}`);
    return this.behaviour.exec?.(node, argv, c) ?? { exitCode: 0, stdout: `${node}: ${argv.join(' ')}`, stderr: '' };
  }

  readonly builds: BuildSpec[] = [];
  /** Images made by build or tag (for absentUntilBuilt), ref → labels. */
  readonly madeImages = new Map<string, Record<string, string>>();
  /** The image id each made ref points at (tags share their source's id). */
  readonly imageIds = new Map<string, string>();

  private imagePresent(ref: string): boolean {
    if (this.behaviour.missingImages?.has(ref)) return false;
    if (this.behaviour.absentUntilBuilt?.test(ref)) return this.madeImages.has(ref);
    return true;
  }

  images: ImageClient = {
    exists: async (ref: string) => this.imagePresent(ref),
    inspect: async (ref: string): Promise<ImageInfo | undefined> =>
      this.imagePresent(ref)
        ? { id: `sha256:${ref}`, sizeBytes: 1, labels: this.madeImages.get(ref) ?? {}, tags: [ref], ...(this.behaviour.imageConfig?.[ref] ?? {}) }
        : undefined,
    // an image per id, with every tag pointing at it (a build makes the id, `tag` adds a ref to it)
    list: async (labels: string[]) => {
      const byId = new Map<string, ImageInfo>();
      for (const [ref, l] of this.madeImages) {
        if (!matches(l, labels)) continue;
        const id = this.imageIds.get(ref) ?? `sha256:${ref}`;
        const info = byId.get(id) ?? { id, sizeBytes: 1, labels: l, tags: [] };
        info.tags.push(ref);
        byId.set(id, info);
      }
      return [...byId.values()];
    },
    build: async (spec: BuildSpec) => {
      this.events.push(`build ${spec.tag}`);
      const failure = this.behaviour.failBuild?.(spec);
      if (failure) throw new Error(failure);
      this.builds.push(spec);
      this.madeImages.set(spec.tag, spec.labels);
    },
    pull: async (ref: string) => `sha256:${ref}`,
    tag: async (ref: string, repo: string, tag: string) => {
      this.madeImages.set(`${repo}:${tag}`, this.madeImages.get(ref) ?? {});
      this.imageIds.set(`${repo}:${tag}`, this.imageIds.get(ref) ?? `sha256:${ref}`);
    },
    remove: async (ref: string) => {
      this.events.push(`image- ${ref}`);
      this.madeImages.delete(ref);
    },
    importRoot: async (_tar, o) => `sha256:${o.repo}:${o.tag}`,
    save: async (refs: string[]) => {
      this.events.push(`save ${refs.join(',')}`);
      const out = new PassThrough();
      out.end(JSON.stringify(refs));
      return out;
    },
    // A fake save stream is the refs as JSON: loading it makes them present here.
    load: async (tar: NodeJS.ReadableStream) => {
      let text = '';
      for await (const chunk of tar) text += String(chunk);
      const refs = text ? (JSON.parse(text) as string[]) : [];
      this.events.push(`load ${refs.join(',')}`);
      for (const ref of refs) {
        this.behaviour.missingImages?.delete(ref);
        this.madeImages.set(ref, this.madeImages.get(ref) ?? {});
      }
    },
  };

}
