/**
 * dockerode behind the narrow runtime interfaces. The only file (with docker.ts) that calls the
 * Docker API; errors keep their cause and say which resource and operation failed.
 */
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { AcklabError } from '../common/index.js';
import { dockerClient } from './docker.js';
import type {
  ContainerClient,
  ContainerInfo,
  ContainerSpec,
  ExecResult,
  ImageClient,
  LogOptions,
  NetworkClient,
  NetworkInfo,
  NetworkSpec,
} from './types.js';

const statusCode = (err: unknown) => (err as { statusCode?: number }).statusCode;
const ignoreGone = (err: unknown) => {
  // 404: already gone; 409: removal already in progress (a parallel `down`).
  if (statusCode(err) === 404 || statusCode(err) === 409) return;
  throw err;
};
const fail = (what: string) => (err: unknown): never => {
  const detail = (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;
  throw new AcklabError(`docker: ${what}: ${detail}`, 1, { cause: err });
};

export class DockerNetworkClient implements NetworkClient {
  constructor(private readonly docker: Docker = dockerClient()) {}

  async create(spec: NetworkSpec): Promise<NetworkInfo> {
    const net = await this.docker
      .createNetwork({
        Name: spec.name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: spec.labels,
        IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet }] },
      })
      .catch(fail(`create network ${spec.name} (${spec.subnet})`));
    return { id: net.id, name: spec.name, labels: spec.labels, subnets: [spec.subnet] };
  }

  async list(labels?: string[]): Promise<NetworkInfo[]> {
    const nets = await this.docker
      .listNetworks(labels ? { filters: { label: labels } } : {})
      .catch(fail('list networks'));
    return nets.map((n) => ({
      id: n.Id,
      name: n.Name,
      labels: n.Labels ?? {},
      subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s && s.includes('.')),
    }));
  }

  async connect(networkId: string, containerId: string, aliases: string[]): Promise<void> {
    await this.docker
      .getNetwork(networkId)
      .connect({ Container: containerId, EndpointConfig: { Aliases: aliases } })
      .catch(fail(`connect container ${containerId.slice(0, 12)} to network ${networkId.slice(0, 12)}`));
  }

  async remove(id: string): Promise<void> {
    await this.docker.getNetwork(id).remove().catch(ignoreGone).catch(fail(`remove network ${id.slice(0, 12)}`));
  }
}

export class DockerContainerClient implements ContainerClient {
  /** Container id → host pid of its init (0: not local, use exec), for listeningPorts. */
  private readonly localPids = new Map<string, number>();

  constructor(private readonly docker: Docker = dockerClient()) {}

  async create(spec: ContainerSpec): Promise<string> {
    const c = await this.docker
      .createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: spec.command.length > 0 ? spec.command : undefined,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Hostname: spec.hostname,
        Labels: spec.labels,
        HostConfig: { NetworkMode: spec.network.id, Init: true },
        NetworkingConfig: { EndpointsConfig: { [spec.network.id]: { Aliases: spec.network.aliases } } },
      })
      .catch(fail(`create container ${spec.name} from ${spec.image}`));
    return c.id;
  }

  async start(id: string): Promise<void> {
    await this.docker.getContainer(id).start().catch(fail(`start container ${id.slice(0, 12)}`));
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const c = await this.docker.getContainer(id).inspect().catch(fail(`inspect container ${id.slice(0, 12)}`));
    const addresses: Record<string, string> = {};
    for (const [name, ep] of Object.entries(c.NetworkSettings?.Networks ?? {})) if (ep.IPAddress) addresses[name] = ep.IPAddress;
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      image: c.Config.Image,
      labels: c.Config.Labels ?? {},
      state: c.State.Status,
      running: c.State.Running,
      exitCode: c.State.ExitCode,
      pid: c.State.Pid,
      addresses,
    };
  }

  async list(labels: string[]): Promise<ContainerInfo[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: labels } }).catch(fail('list containers'));
    return list.map((c) => {
      const addresses: Record<string, string> = {};
      for (const [name, ep] of Object.entries(c.NetworkSettings?.Networks ?? {})) if (ep.IPAddress) addresses[name] = ep.IPAddress;
      return {
        id: c.Id,
        name: (c.Names[0] ?? '').replace(/^\//, ''),
        image: c.Image,
        labels: c.Labels ?? {},
        state: c.State,
        running: c.State === 'running',
        exitCode: Number(/Exited \((-?\d+)\)/.exec(c.Status)?.[1] ?? 0),
        pid: 0,
        addresses,
      };
    });
  }

  async remove(id: string): Promise<void> {
    await this.docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(ignoreGone)
      .catch(fail(`remove container ${id.slice(0, 12)}`));
  }

  async logs(id: string, options: LogOptions = {}): Promise<string> {
    const logs = this.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false, tail: options.tail ?? 'all' } as { follow: false }) as Promise<Buffer>;
    const buf = await logs.catch(fail(`logs of container ${id.slice(0, 12)}`));
    return demux(buf);
  }

  async followLogs(id: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
    const logs = this.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: true, tail: 'all' } as { follow: true }) as unknown as Promise<
      NodeJS.ReadableStream & { destroy(): void }
    >;
    const stream = await logs.catch(fail(`follow logs of container ${id.slice(0, 12)}`));
    this.docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      stream.on('end', done);
      stream.on('close', done);
      stream.on('error', done);
      signal?.addEventListener('abort', () => {
        stream.destroy();
        resolve();
      });
    });
  }

  async exec(id: string, argv: string[]): Promise<ExecResult> {
    const out = new Collector();
    const err = new Collector();
    const exitCode = await this.execStream(id, argv, out, err);
    return { exitCode, stdout: out.text(), stderr: err.text() };
  }

  async execStream(id: string, argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
    const what = `exec ${JSON.stringify(argv)} in container ${id.slice(0, 12)}`;
    const exec = await this.docker
      .getContainer(id)
      .exec({ Cmd: argv, AttachStdout: true, AttachStderr: true })
      .catch(fail(what));
    const stream = await (exec.start({ hijack: true, stdin: false }) as unknown as Promise<NodeJS.ReadableStream>).catch(fail(what));
    try {
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.demuxStream(stream, out, err);
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
    } finally {
      // The hijacked socket stays half-open after the output ends and would keep the process alive.
      (stream as unknown as { destroy(): void }).destroy();
    }
    const info = await (exec.inspect() as unknown as Promise<{ ExitCode: number | null }>).catch(fail(what));
    return info.ExitCode ?? -1;
  }

  async execDetached(id: string, argv: string[]): Promise<void> {
    const what = `exec (detached) ${JSON.stringify(argv)} in container ${id.slice(0, 12)}`;
    const exec = await this.docker.getContainer(id).exec({ Cmd: argv, AttachStdout: false, AttachStderr: false }).catch(fail(what));
    const stream = await (exec.start({ Detach: true }) as unknown as Promise<{ destroy?(): void; resume?(): void } | undefined>).catch(fail(what));
    // dockerode hands back the response socket even when detached; left open it keeps the process alive.
    stream?.destroy?.();
  }

  async listeningPorts(id: string): Promise<Set<number>> {
    // Fast path on a local engine: read the namespace's socket table through /proc/<pid>, no API
    // call and no exec, so polling many nodes does not load the engine they are booting on.
    let pid = this.localPids.get(id);
    if (pid === undefined) {
      const info = await this.inspect(id);
      pid = 0;
      if (info.pid > 0 && (await readFile(`/proc/${info.pid}/cgroup`, 'utf8').catch(() => '')).includes(info.id)) pid = info.pid;
      if (info.running) this.localPids.set(id, pid);
    }
    if (pid > 0) {
      const tables = await Promise.all(['tcp', 'tcp6'].map((t) => readFile(`/proc/${pid}/net/${t}`, 'utf8').catch(() => undefined)));
      if (tables[0] !== undefined) return parseListening(tables.join('\n'));
      this.localPids.delete(id); // the process is gone (exited or restarted)
      return new Set();
    }
    const r = await this.exec(id, ['cat', '/proc/net/tcp', '/proc/net/tcp6']);
    return parseListening(r.stdout);
  }
}

export class DockerImageClient implements ImageClient {
  constructor(private readonly docker: Docker = dockerClient()) {}

  async exists(ref: string): Promise<boolean> {
    try {
      await this.docker.getImage(ref).inspect();
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      return fail(`inspect image ${ref}`)(err);
    }
  }
}

/** Ports in LISTEN state (st 0A) in /proc/net/tcp{,6} text. */
export function parseListening(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && f[1]?.includes(':')) ports.add(parseInt(f[1].split(':').pop()!, 16));
  }
  return ports;
}

/** Docker's multiplexed (non-TTY) log stream → text; frames are [stream, 0, 0, 0, size u32 BE, payload]. */
export function demux(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf ?? '');
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    const size = buf.readUInt32BE(i + 4);
    if (type > 2 || buf[i + 1] !== 0) return buf.toString('utf8'); // not multiplexed (TTY)
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

class Collector extends PassThrough {
  private readonly chunks: Buffer[] = [];
  constructor() {
    super();
    this.on('data', (c: Buffer) => this.chunks.push(c));
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}
