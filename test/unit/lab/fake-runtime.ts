/** An in-memory Runtime for orchestration tests: records calls, simulates readiness per node. */
import type {
  ContainerClient,
  ContainerInfo,
  ContainerSpec,
  ExecResult,
  ImageClient,
  NetworkClient,
  NetworkInfo,
  NetworkSpec,
  Runtime,
} from '../../../src/runtime/index.js';

export interface FakeBehaviour {
  /** Node names whose port never opens. */
  neverReady?: Set<string>;
  /** Node names that exit with status 3 right after start. */
  crash?: Set<string>;
  /** Subnets of networks that exist before the lab (name → subnet). */
  existingNetworks?: Record<string, string>;
}

interface FakeContainer extends ContainerInfo {
  spec: ContainerSpec;
  networks: string[];
  startedAt?: number;
}

const matches = (labels: Record<string, string>, filter: string[]) =>
  filter.every((f) => {
    const [k, v] = f.split('=');
    return v === undefined ? k! in labels : labels[k!] === v;
  });

export class FakeRuntime implements Runtime {
  readonly events: string[] = [];
  readonly containersById = new Map<string, FakeContainer>();
  readonly networksById = new Map<string, NetworkInfo>();
  private seq = 0;
  private tick = 0;

  constructor(readonly behaviour: FakeBehaviour = {}) {
    for (const [name, subnet] of Object.entries(behaviour.existingNetworks ?? {})) {
      this.networksById.set(`pre-${name}`, { id: `pre-${name}`, name, labels: {}, subnets: [subnet] });
    }
  }

  private nodeOf(id: string): string {
    return this.containersById.get(id)?.spec.hostname ?? id;
  }

  networks: NetworkClient = {
    create: async (spec: NetworkSpec) => {
      const id = `net${++this.seq}`;
      const info = { id, name: spec.name, labels: spec.labels, subnets: [spec.subnet] };
      this.networksById.set(id, info);
      this.events.push(`network+ ${spec.name} ${spec.subnet}`);
      return info;
    },
    list: async (labels?: string[]) => [...this.networksById.values()].filter((n) => !labels || matches(n.labels, labels)),
    connect: async (networkId: string, containerId: string, aliases: string[]) => {
      const c = this.containersById.get(containerId)!;
      const net = this.networksById.get(networkId)!;
      c.networks.push(net.name);
      this.events.push(`connect ${this.nodeOf(containerId)} ${net.name} as ${aliases.join(',')}`);
    },
    remove: async (id: string) => {
      this.events.push(`network- ${this.networksById.get(id)?.name}`);
      this.networksById.delete(id);
    },
  };

  containers: ContainerClient = {
    create: async (spec: ContainerSpec) => {
      const id = `c${++this.seq}`;
      const net = this.networksById.get(spec.network.id)!;
      this.containersById.set(id, {
        id, name: spec.name, image: spec.image, labels: spec.labels, state: 'created', running: false, exitCode: 0, pid: 0,
        addresses: {}, spec, networks: [net.name],
      });
      this.events.push(`create ${spec.hostname}`);
      return id;
    },
    start: async (id: string) => {
      const c = this.containersById.get(id)!;
      const node = c.spec.hostname;
      c.startedAt = ++this.tick;
      if (this.behaviour.crash?.has(node)) Object.assign(c, { state: 'exited', running: false, exitCode: 3 });
      else Object.assign(c, { state: 'running', running: true });
      c.addresses = Object.fromEntries(c.networks.map((n, i) => [n, `10.0.${i}.${c.startedAt}`]));
      this.events.push(`start ${node}`);
    },
    inspect: async (id: string) => {
      const c = this.containersById.get(id);
      if (!c) throw new Error(`no container ${id}`);
      return c;
    },
    list: async (labels: string[]) => [...this.containersById.values()].filter((c) => matches(c.labels, labels)),
    remove: async (id: string) => {
      this.events.push(`remove ${this.nodeOf(id)}`);
      this.containersById.delete(id);
    },
    logs: async (id: string) => `hello from ${this.nodeOf(id)}\nlast line of ${this.nodeOf(id)}\n`,
    followLogs: async () => {},
    exec: async (id: string, argv: string[]): Promise<ExecResult> => ({ exitCode: 0, stdout: `${this.nodeOf(id)}: ${argv.join(' ')}`, stderr: '' }),
    execStream: async () => 0,
    execDetached: async (id: string, argv: string[]) => void this.events.push(`spawn ${this.nodeOf(id)} ${argv.join(' ')}`),
    listeningPorts: async (id: string) => {
      const c = this.containersById.get(id)!;
      if (this.behaviour.neverReady?.has(c.spec.hostname) || !c.running) return new Set<number>();
      this.events.push(`ready ${c.spec.hostname}`);
      return new Set([8881, 8888, 9000]);
    },
  };

  images: ImageClient = { exists: async (ref: string) => ref !== 'missing:latest' };
}
