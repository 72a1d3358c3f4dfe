/**
 * The Docker edge, narrowed to what acklab needs. Everything above src/runtime talks to these
 * interfaces, never to dockerode or the Docker API, so the orchestrator, the image builder, the
 * impairment layer and the experiment runner are unit tested with small fakes.
 */
import type { Readable, Writable } from 'node:stream';

export interface NetworkSpec {
  name: string;
  /** IPv4 CIDR; absent: the engine's IPAM picks one (read it back from the result). */
  subnet?: string;
  labels: Record<string, string>;
  /** No route out of the network (Docker `--internal`). */
  internal?: boolean;
  /** Default bridge; overlay for a lab spread over the engines of a swarm. */
  driver?: 'bridge' | 'overlay';
  /** Overlay only: plain containers (not services) may join it. */
  attachable?: boolean;
  /**
   * Overlay only: the VXLAN id (VNI) of its data path. Absent, the swarm takes its lowest free one,
   * so a swarm made anew gives a new network the id its predecessor's had — which an engine may
   * still hold for a moment after leaving ("error creating vxlan interface: file exists": no
   * traffic between engines on that network).
   */
  vxlanId?: number;
}

export interface NetworkInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** IPv4 subnets in the network's IPAM config. */
  subnets: string[];
  driver?: string;
  internal?: boolean;
  /** Overlay networks: the VXLAN id asked for at creation, when one was. */
  vxlanId?: number;
}

export interface NetworkClient {
  create(spec: NetworkSpec): Promise<NetworkInfo>;
  /** Networks carrying all of these labels (`key=value` strings); every network when omitted. */
  list(labels?: string[]): Promise<NetworkInfo[]>;
  /** Joins a created (not yet started) container, with DNS aliases. */
  connect(networkId: string, containerId: string, aliases: string[]): Promise<void>;
  /** Removes the network; a missing network is not an error. */
  remove(id: string): Promise<void>;
}

export interface ContainerSpec {
  /** Container name; absent: the engine makes one up (throwaway containers). */
  name?: string;
  image: string;
  command: string[];
  /** Replaces the image's ENTRYPOINT; `[]` runs none. Absent: the image's. */
  entrypoint?: string[];
  env?: Record<string, string>;
  hostname?: string;
  labels: Record<string, string>;
  /** The first network (Docker API 1.41 attaches one network at create time), with DNS aliases. */
  network?: { id: string; aliases: string[] };
  /** Instead of `network`: no network at all, or another container's network namespace (sidecars). */
  networkMode?: 'none' | { container: string };
  /** Linux capabilities added to the default set (NET_ADMIN for tc/iptables, …). */
  capAdd?: string[];
  /** Run an init (tini) as pid 1 so signals reach the program and zombies are reaped. Default true. */
  init?: boolean;
  /** Resource limits; absent fields: no limit. */
  limits?: { memoryBytes?: number; pids?: number };
  /**
   * A real-time CPU budget for the container's cgroup (cgroup v1: `cpu.rt_runtime_us` per
   * `cpu.rt_period_us`), so a process in it with CAP_SYS_NICE may run SCHED_FIFO.
   */
  realtime?: { runtimeUs: number; periodUs: number };
  /** json-file log rotation, so a chatty node cannot fill the disk. */
  logs?: { maxSize: string; maxFiles: number };
  /** resolv.conf options (`timeout:1`, `attempts:1`, …) for the container's resolver. */
  dnsOptions?: string[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** created, running, paused, restarting, exited, dead */
  state: string;
  running: boolean;
  paused: boolean;
  exitCode: number;
  /** Host pid of the container's init process (0 when not running, or unknown in a list). */
  pid: number;
  /** IPv4 address per Docker network name. */
  addresses: Record<string, string>;
  /** When the container last started (ISO time; absent in a list). */
  startedAt?: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface LogOptions {
  /** Only the last N lines. */
  tail?: number;
  /** Only lines since this time (epoch ms). */
  sinceMs?: number;
  /** Prefix every line with the engine's RFC 3339 timestamp. */
  timestamps?: boolean;
  /** Which stream (default both, interleaved as the engine stored them). */
  stream?: 'stdout' | 'stderr' | 'both';
}

/** An exec whose stdin stays open: a control stream to a resident process. */
export interface ExecSession {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves with the exit code once the process ends (or -1 when the engine cannot say). */
  readonly exited: Promise<number>;
  /** Closes the stream; the process sees EOF on stdin. */
  close(): void;
}

export interface ContainerClient {
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInfo>;
  /** Containers (running or not) carrying all of these labels. */
  list(labels: string[]): Promise<ContainerInfo[]>;
  /** SIGTERM, then SIGKILL after `graceMs` (docker stop). A stopped container is not an error. */
  stop(id: string, graceMs: number): Promise<void>;
  /** Sends a signal (default SIGKILL). A container that is not running is not an error. */
  kill(id: string, signal?: string): Promise<void>;
  /** Freezes every process of the container (cgroup freezer), and thaws it. */
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  /** Waits until the container is not running; resolves with its exit code. */
  wait(id: string): Promise<number>;
  /** Kills and removes; a missing container is not an error. */
  remove(id: string): Promise<void>;
  logs(id: string, options?: LogOptions): Promise<string>;
  /** Streams stdout/stderr to the given writers until the container stops or the signal aborts. */
  followLogs(id: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream, options?: LogOptions & { signal?: AbortSignal }): Promise<void>;
  /** Runs to completion; `stdin` is written and closed first when given. Never throws for a non-zero exit. */
  exec(id: string, argv: string[], options?: { stdin?: string }): Promise<ExecResult>;
  /** Streams an exec's output as it comes; resolves to the exit code. */
  execStream(id: string, argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number>;
  /** Starts a command in the container and returns at once (daemons). */
  execDetached(id: string, argv: string[]): Promise<void>;
  /** Starts a command with its stdin held open: the caller talks to it for as long as it likes. */
  openExec(id: string, argv: string[]): Promise<ExecSession>;
  /** One file out of a container, running or stopped; undefined when it does not exist. */
  copyFileOut(id: string, path: string): Promise<Buffer | undefined>;
  /** A file or directory out of a container as a tar stream (`docker cp`); undefined when absent. */
  archiveOut(id: string, path: string): Promise<NodeJS.ReadableStream | undefined>;
  /** TCP ports in LISTEN state inside the container's network namespace. */
  listeningPorts(id: string): Promise<Set<number>>;
}

export interface ImageInfo {
  id: string;
  sizeBytes: number;
  labels: Record<string, string>;
  tags: string[];
  /** The image's ENTRYPOINT and CMD (inspect only; absent in a list or when the image has none). */
  entrypoint?: string[];
  cmd?: string[];
}

export interface BuildSpec {
  /** A folder holding the build context (Dockerfile at its top). */
  contextDir: string;
  /** Top-level entries of the folder that form the context. */
  include: string[];
  tag: string;
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  noCache?: boolean;
  /** Every line of build output as it comes. */
  onLine?: (line: string) => void;
}

export interface ImageClient {
  exists(ref: string): Promise<boolean>;
  inspect(ref: string): Promise<ImageInfo | undefined>;
  /** Images carrying all of these labels. */
  list(labels: string[]): Promise<ImageInfo[]>;
  /** Builds an image; throws with the build's last output lines when it fails. */
  build(spec: BuildSpec): Promise<void>;
  /** Pulls an image; resolves with its id. */
  pull(ref: string, options?: { timeoutMs?: number }): Promise<string>;
  tag(ref: string, repo: string, tag: string): Promise<void>;
  /** Removes one tag (the image goes when no tag is left); throws when a container uses it. */
  remove(ref: string): Promise<void>;
  /** `docker import`: a root file system tarball becomes `repo:tag`; resolves with the image id. */
  importRoot(tar: NodeJS.ReadableStream, options: { repo: string; tag: string; changes: string[] }): Promise<string>;
  /** `docker save` of the given refs, as a tar stream. */
  save(refs: string[]): Promise<NodeJS.ReadableStream>;
  /** `docker load` of a `save` stream. */
  load(tar: NodeJS.ReadableStream): Promise<void>;
}

export interface EngineFacts {
  version: string;
  apiVersion: string;
  storageDriver: string;
  cgroupVersion: string;
  cgroupDriver: string;
  kernelVersion: string;
  operatingSystem: string;
  /** Where the client talks to: DOCKER_HOST or the default socket. */
  host: string;
  /** The engine's place in a swarm (Swarm mode), as `docker info` says. */
  swarm?: EngineSwarm;
}

export interface EngineSwarm {
  /** inactive, pending, active, error, locked */
  state: string;
  /** A manager of its swarm (it can make overlay networks). */
  manager: boolean;
  /** The address it advertises to the swarm ("" when not in one). */
  nodeAddr: string;
  /** The managers it knows, as `host:port` (2377). */
  managers: string[];
  /** Its node id in the swarm ("" when not in one). */
  nodeId: string;
}

/** A swarm as a manager sees it. */
export interface SwarmInfo {
  id: string;
  labels: Record<string, string>;
  /** The token an engine joins it with as a worker. */
  workerToken: string;
}

export interface SwarmNode {
  id: string;
  role: 'manager' | 'worker';
  /** The address it advertises. */
  addr: string;
  labels: Record<string, string>;
}

/** Swarm mode of one engine: what making and unmaking a lab's swarm takes (`docker swarm …`, `docker node …`). */
export interface SwarmClient {
  /** `docker swarm init` (listening on :2377): a new swarm, carrying `labels`, with this engine its manager. */
  init(options: { advertiseAddr?: string; labels: Record<string, string> }): Promise<void>;
  /** `docker swarm join` as a worker, to `managerAddr` (host:port). */
  join(options: { managerAddr: string; token: string; advertiseAddr?: string }): Promise<void>;
  /** `docker swarm leave`; `force` also lets a manager (the swarm's last) leave. */
  leave(force: boolean): Promise<void>;
  /** On a manager: the swarm. */
  inspect(): Promise<SwarmInfo>;
  /** On a manager: the swarm's nodes. */
  nodes(): Promise<SwarmNode[]>;
  /** On a manager: adds `labels` to node `id`. */
  labelNode(id: string, labels: Record<string, string>): Promise<void>;
  /** On a manager: takes node `id` (one that left) off the swarm's list (`docker node rm --force`). */
  removeNode(id: string): Promise<void>;
  /** On a manager: how many services the swarm runs. */
  serviceCount(): Promise<number>;
}

export interface EngineClient {
  /** Where this client talks to (for messages). */
  readonly host: string;
  /** Version and info; throws an AcklabError naming the host and the fix when no engine answers. */
  facts(): Promise<EngineFacts>;
  /** Its swarm. */
  readonly swarm: SwarmClient;
}

export interface Runtime {
  networks: NetworkClient;
  containers: ContainerClient;
  images: ImageClient;
  engine: EngineClient;
  /** A runtime over several engines (multiEngineRuntime): each engine's own runtime, the primary first. */
  readonly members?: readonly EngineMember[];
}

/** One engine of a runtime over several. */
export interface EngineMember {
  /** The engine's name in the topology (`engines: { a: … }`). */
  name: string;
  address: string;
  runtime: Runtime;
}
