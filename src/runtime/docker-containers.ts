/** ContainerClient over dockerode: lifecycle, exec (plain, streamed, detached, with open stdin), logs, copy-out. */
import { readFile } from 'node:fs/promises';
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { demux, parseListening } from './demux.js';
import { NameConflictError, engineMessage, fail, ignoreGone, short, statusCode } from './docker-errors.js';
import type { ContainerClient, ContainerInfo, ContainerSpec, ExecResult, ExecSession, LogOptions } from './types.js';

function addressesOf(networks: Record<string, { IPAddress?: string }> | undefined): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const [name, ep] of Object.entries(networks ?? {})) if (ep.IPAddress) addresses[name] = ep.IPAddress;
  return addresses;
}

function networkMode(spec: ContainerSpec): string | undefined {
  if (spec.networkMode === 'none') return 'none';
  if (spec.networkMode !== undefined) return `container:${spec.networkMode.container}`;
  return spec.network?.id;
}

/** Docker's log `since` is in seconds; fractions keep sub-second precision. */
const sinceSeconds = (ms: number | undefined) => (ms === undefined ? undefined : (ms / 1000).toFixed(3));

export class DockerContainerClient implements ContainerClient {
  /** Container id → host pid of its init (0: not local, use exec), for listeningPorts. */
  private readonly localPids = new Map<string, number>();

  constructor(private readonly docker: Docker) {}

  async create(spec: ContainerSpec): Promise<string> {
    const hostConfig: Docker.HostConfig = { NetworkMode: networkMode(spec), Init: spec.init ?? true };
    if (spec.capAdd?.length) hostConfig.CapAdd = spec.capAdd;
    if (spec.realtime) {
      hostConfig.CpuRealtimeRuntime = spec.realtime.runtimeUs;
      hostConfig.CpuRealtimePeriod = spec.realtime.periodUs;
    }
    if (spec.limits?.memoryBytes !== undefined) hostConfig.Memory = spec.limits.memoryBytes;
    if (spec.limits?.pids !== undefined) hostConfig.PidsLimit = spec.limits.pids;
    if (spec.dnsOptions?.length) hostConfig.DnsOptions = spec.dnsOptions;
    if (spec.logs) hostConfig.LogConfig = { Type: 'json-file', Config: { 'max-size': spec.logs.maxSize, 'max-file': String(spec.logs.maxFiles) } };
    const c = await this.docker
      .createContainer({
        ...(spec.name !== undefined ? { name: spec.name } : {}),
        Image: spec.image,
        Cmd: spec.command.length > 0 ? spec.command : undefined,
        // The Engine API resets the image's ENTRYPOINT only for [""]; an empty list would keep it.
        ...(spec.entrypoint === undefined ? {} : { Entrypoint: spec.entrypoint.length > 0 ? spec.entrypoint : [''] }),
        Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
        ...(spec.hostname !== undefined ? { Hostname: spec.hostname } : {}),
        Labels: spec.labels,
        HostConfig: hostConfig,
        ...(spec.network ? { NetworkingConfig: { EndpointsConfig: { [spec.network.id]: { Aliases: spec.network.aliases } } } } : {}),
      })
      .catch((err: unknown) => {
        if (statusCode(err) === 409 && spec.name !== undefined) {
          throw new NameConflictError(spec.name, `docker: create container ${spec.name}: ${engineMessage(err)}`, { cause: err });
        }
        return fail(`create container ${spec.name ?? ''} from ${spec.image}`.replace('  ', ' '))(err);
      });
    return c.id;
  }

  async start(id: string): Promise<void> {
    // 304: already running.
    await this.docker.getContainer(id).start().catch((err: unknown) => {
      if (statusCode(err) !== 304) fail(`start container ${short(id)}`)(err);
    });
  }

  async inspect(id: string): Promise<ContainerInfo> {
    const c = await this.docker.getContainer(id).inspect().catch(fail(`inspect container ${short(id)}`));
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ''),
      image: c.Config.Image,
      labels: c.Config.Labels ?? {},
      state: c.State.Status,
      running: c.State.Running,
      paused: c.State.Paused,
      exitCode: c.State.ExitCode,
      pid: c.State.Pid,
      addresses: addressesOf(c.NetworkSettings?.Networks),
      startedAt: c.State.StartedAt,
    };
  }

  async list(labels: string[]): Promise<ContainerInfo[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: labels } }).catch(fail('list containers'));
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      labels: c.Labels ?? {},
      state: c.State,
      running: c.State === 'running',
      paused: c.State === 'paused',
      exitCode: Number(/Exited \((-?\d+)\)/.exec(c.Status)?.[1] ?? 0),
      pid: 0,
      addresses: addressesOf(c.NetworkSettings?.Networks),
    }));
  }

  async stop(id: string, graceMs: number): Promise<void> {
    // 304: not running; 404: gone.
    await this.docker
      .getContainer(id)
      .stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) })
      .catch((err: unknown) => {
        if (statusCode(err) !== 304 && statusCode(err) !== 404) fail(`stop container ${short(id)}`)(err);
      });
  }

  async kill(id: string, signal = 'SIGKILL'): Promise<void> {
    // 409: not running; 404: gone.
    await this.docker
      .getContainer(id)
      .kill({ signal })
      .catch((err: unknown) => {
        if (statusCode(err) !== 409 && statusCode(err) !== 404) fail(`kill (${signal}) container ${short(id)}`)(err);
      });
  }

  async pause(id: string): Promise<void> {
    await this.docker.getContainer(id).pause().catch(fail(`pause container ${short(id)}`));
  }

  async unpause(id: string): Promise<void> {
    await this.docker.getContainer(id).unpause().catch(fail(`unpause container ${short(id)}`));
  }

  async wait(id: string): Promise<number> {
    const r = (await this.docker.getContainer(id).wait().catch(fail(`wait for container ${short(id)}`))) as { StatusCode: number };
    return r.StatusCode;
  }

  async remove(id: string): Promise<void> {
    await this.docker
      .getContainer(id)
      .remove({ force: true, v: true })
      .catch(ignoreGone)
      .catch(fail(`remove container ${short(id)}`));
  }

  async logs(id: string, options: LogOptions = {}): Promise<string> {
    const stream = options.stream ?? 'both';
    const since = sinceSeconds(options.sinceMs);
    const buf = (await (this.docker.getContainer(id).logs({
      stdout: stream !== 'stderr',
      stderr: stream !== 'stdout',
      follow: false,
      tail: options.tail ?? 'all',
      timestamps: options.timestamps ?? false,
      ...(since !== undefined ? { since } : {}),
    } as { follow: false }) as Promise<Buffer>).catch(fail(`logs of container ${short(id)}`))) as Buffer;
    return demux(buf);
  }

  async followLogs(
    id: string,
    out: NodeJS.WritableStream,
    err: NodeJS.WritableStream,
    options: LogOptions & { signal?: AbortSignal } = {},
  ): Promise<void> {
    const since = sinceSeconds(options.sinceMs);
    const stream = (await (this.docker.getContainer(id).logs({
      stdout: true,
      stderr: true,
      follow: true,
      tail: options.tail ?? 'all',
      timestamps: options.timestamps ?? false,
      ...(since !== undefined ? { since } : {}),
    } as { follow: true }) as unknown as Promise<NodeJS.ReadableStream & { destroy(): void }>).catch(fail(`follow logs of container ${short(id)}`))) as NodeJS.ReadableStream & {
      destroy(): void;
    };
    this.docker.modem.demuxStream(stream, out, err);
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', resolve);
      options.signal?.addEventListener('abort', () => {
        stream.destroy();
        resolve();
      });
    });
  }

  async exec(id: string, argv: string[], options: { stdin?: string } = {}): Promise<ExecResult> {
    if (options.stdin !== undefined) {
      const session = await this.openExec(id, argv);
      const out = collect(session.stdout);
      const err = collect(session.stderr);
      session.stdin.end(options.stdin);
      const exitCode = await session.exited;
      return { exitCode, stdout: await out, stderr: await err };
    }
    const out = new PassThrough();
    const err = new PassThrough();
    const [stdout, stderr, exitCode] = await Promise.all([collect(out), collect(err), this.execStream(id, argv, out, err).finally(() => (out.end(), err.end()))]);
    return { exitCode, stdout, stderr };
  }

  async execStream(id: string, argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
    const what = `exec ${JSON.stringify(argv)} in container ${short(id)}`;
    const exec = await this.docker.getContainer(id).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true }).catch(fail(what));
    const stream = (await (exec.start({ hijack: true, stdin: false }) as unknown as Promise<Duplex>).catch(fail(what))) as Duplex;
    try {
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.demuxStream(stream, out, err);
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
    } finally {
      // The hijacked socket stays half-open after the output ends and would keep the process alive.
      stream.destroy();
    }
    const info = (await (exec.inspect() as unknown as Promise<{ ExitCode: number | null }>).catch(fail(what))) as { ExitCode: number | null };
    return info.ExitCode ?? -1;
  }

  async execDetached(id: string, argv: string[]): Promise<void> {
    const what = `exec (detached) ${JSON.stringify(argv)} in container ${short(id)}`;
    const exec = await this.docker.getContainer(id).exec({ Cmd: argv, AttachStdout: false, AttachStderr: false }).catch(fail(what));
    const stream = (await (exec.start({ Detach: true }) as unknown as Promise<{ destroy?(): void } | undefined>).catch(fail(what))) as
      | { destroy?(): void }
      | undefined;
    // dockerode hands back the response socket even when detached; left open it keeps the process alive.
    stream?.destroy?.();
  }

  async openExec(id: string, argv: string[]): Promise<ExecSession> {
    const what = `exec (stdin open) ${JSON.stringify(argv)} in container ${short(id)}`;
    const exec = await this.docker
      .getContainer(id)
      .exec({ Cmd: argv, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false })
      .catch(fail(what));
    const socket = (await (exec.start({ hijack: true, stdin: true }) as unknown as Promise<Duplex>).catch(fail(what))) as Duplex;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(socket, stdout, stderr);
    const stdin = new PassThrough();
    stdin.pipe(socket);
    const exited = new Promise<number>((resolve) => {
      let done = false;
      const finish = async () => {
        if (done) return;
        done = true;
        stdout.end();
        stderr.end();
        socket.destroy();
        const info = await (exec.inspect() as unknown as Promise<{ ExitCode: number | null }>).catch(() => ({ ExitCode: null }));
        resolve(info.ExitCode ?? -1);
      };
      socket.on('end', finish);
      socket.on('close', finish);
      socket.on('error', finish);
    });
    return { stdin, stdout, stderr, exited, close: () => socket.destroy() };
  }

  async archiveOut(id: string, path: string): Promise<NodeJS.ReadableStream | undefined> {
    try {
      return (await this.docker.getContainer(id).getArchive({ path })) as NodeJS.ReadableStream;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      return fail(`copy ${path} out of container ${short(id)}`)(err);
    }
  }

  async copyFileOut(id: string, path: string): Promise<Buffer | undefined> {
    const archive = await this.archiveOut(id, path);
    if (!archive) return undefined;
    return new Promise((resolve, reject) => {
      const tar = extract();
      let content: Buffer | undefined;
      tar.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
        stream.on('end', () => {
          if (header.type === 'file' && content === undefined) content = Buffer.concat(chunks);
          next();
        });
        stream.resume();
      });
      tar.on('finish', () => resolve(content));
      tar.on('error', reject);
      archive.pipe(tar);
    });
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

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

