/**
 * The Docker edge, narrowed to what the lab needs. Everything above src/runtime talks to these
 * interfaces, never to dockerode, so the orchestrator can be unit tested with small fakes.
 */

export interface NetworkSpec {
  name: string;
  /** IPv4 CIDR; the caller picks it (see src/lab/subnets.ts) so it never overlaps. */
  subnet: string;
  labels: Record<string, string>;
}

export interface NetworkInfo {
  id: string;
  name: string;
  labels: Record<string, string>;
  /** IPv4 subnets in the network's IPAM config. */
  subnets: string[];
}

export interface NetworkClient {
  create(spec: NetworkSpec): Promise<NetworkInfo>;
  /** Networks carrying all of these labels (`key=value` strings); every network when omitted. */
  list(labels?: string[]): Promise<NetworkInfo[]>;
  /** Joins a created (not yet started) container, with DNS aliases. */
  connect(networkId: string, containerId: string, aliases: string[]): Promise<void>;
  remove(id: string): Promise<void>;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  hostname: string;
  labels: Record<string, string>;
  /** The first network (Docker API 1.41 attaches one network at create time). */
  network: { id: string; aliases: string[] };
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  labels: Record<string, string>;
  /** created, running, exited, … */
  state: string;
  running: boolean;
  exitCode: number;
  /** Host pid of the container's init process (0 when not running). */
  pid: number;
  /** IPv4 address per Docker network name. */
  addresses: Record<string, string>;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface LogOptions {
  /** Only the last N lines. */
  tail?: number;
}

export interface ContainerClient {
  create(spec: ContainerSpec): Promise<string>;
  start(id: string): Promise<void>;
  inspect(id: string): Promise<ContainerInfo>;
  /** Containers (running or not) carrying all of these labels. */
  list(labels: string[]): Promise<ContainerInfo[]>;
  /** Kills and removes; a missing container is not an error. */
  remove(id: string): Promise<void>;
  logs(id: string, options?: LogOptions): Promise<string>;
  /** Streams stdout/stderr to the given writers until the container stops or the signal aborts. */
  followLogs(id: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream, signal?: AbortSignal): Promise<void>;
  exec(id: string, argv: string[]): Promise<ExecResult>;
  /** Streams an exec's output as it comes; resolves to the exit code. */
  execStream(id: string, argv: string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number>;
  /** Starts a command in the container and returns at once (daemons such as a shaping helper). */
  execDetached(id: string, argv: string[]): Promise<void>;
  /** TCP ports in LISTEN state inside the container's network namespace. */
  listeningPorts(id: string): Promise<Set<number>>;
}

export interface ImageClient {
  exists(ref: string): Promise<boolean>;
}
