/** The resolved, typed topology: what the orchestrator starts and what the impairment layer shapes. */
import type { Impairment } from '../conditions/index.js';

/**
 * Which image a node runs: acklab's own node image (built by src/images), any local image, or an
 * image acklab builds from a folder with a Dockerfile (`build:` in the topology).
 */
export type ImageSpec = { type: 'acklab-node' } | { type: 'local'; ref: string } | BuildImageSpec;

/**
 * An image built by acklab from a build context (a folder with a Dockerfile), offline, from acklab's
 * Debian base (passed as the build argument ACKLAB_BASE), content-hashed and cached like acklab's images.
 */
export interface BuildImageSpec {
  type: 'build';
  /** The image's name: its key under `images:`, or the folder's name for a node's own `build:`. */
  name: string;
  /** Absolute path of the build context (the folder holding the Dockerfile). */
  context: string;
  /** Build arguments besides ACKLAB_BASE. */
  buildArgs: Record<string, string>;
  /** Where it was asked for, for messages: `file:line:column (field)`, or the kind that brings it. */
  origin: string;
}

/** How the orchestrator knows a node is ready before starting the nodes that depend on it. */
export type Readiness =
  /** A TCP port is listening inside the node's network namespace. */
  | { type: 'port'; port: number; timeoutMs: number }
  /** A line of the node's output matches. */
  | { type: 'log'; pattern: string; timeoutMs: number }
  /** Running (or already exited with status 0): clients that connect and go. */
  | { type: 'started'; timeoutMs: number };

export type NodeRole = 'server' | 'client' | 'mesh' | 'custom';

export interface TopologyNode {
  name: string;
  kind: string;
  role: NodeRole;
  /** Networks this node joins; its name is a DNS alias on each. */
  networks: string[];
  image: ImageSpec;
  /** The full argv run in the container (no shell unless the user wrote one); empty: the image's own CMD. */
  command: string[];
  /** Replaces the image's ENTRYPOINT; `[]` runs without one (the start gate wraps the whole argv). */
  entrypoint?: string[];
  env: Record<string, string>;
  /** Ports the node listens on (informational: for `ps`, links and readiness). */
  ports: number[];
  ready: Readiness;
  /** Nodes that must be ready before this one starts. */
  dependsOn: string[];
  /** Nodes started together as one unit (the multicast mesh); undefined when alone. */
  group?: string;
  /**
   * The program can wait for an experiment's start gate (its image has a POSIX shell). Absent: only
   * programs on acklab's node image can.
   */
  gate?: boolean;
  /** Memory and process limits of the container; an absent field is no limit. */
  limits: NodeLimits;
  /** json-file log rotation: at most maxFiles files of maxBytes each. */
  logs: NodeLogs;
  /** The engine (a name of Topology.engines) that runs the node; absent when the topology names no engines. */
  engine?: string;
}

/**
 * A Docker engine of a lab spread over several (`engines:` in the file). With more than one, the
 * lab's networks are attachable overlay networks of the swarm the engines are in.
 */
export interface TopologyEngine {
  name: string;
  /** unix://, tcp://, https:// or ssh:// address; "local": DOCKER_HOST or the default socket. */
  address: string;
  /** The address (IPv4 or interface name) it advertises to a swarm acklab forms; absent: the engine's choice. */
  advertise?: string;
}

/**
 * How a lab over several engines gets their swarm: `existing` — the engines must already form one
 * (acklab says what to run where they do not); `form` — acklab makes the first engine a manager
 * and joins the others where they are in none, and unmakes that when the last lab on it goes.
 */
export type SwarmMode = 'existing' | 'form';

export interface NodeLimits {
  memoryBytes?: number;
  pids?: number;
}

export interface NodeLogs {
  maxBytes: number;
  maxFiles: number;
}

export interface TopologyNetwork {
  name: string;
  /** IPv4 CIDR given by the user; when absent the orchestrator picks a free one at `up`. */
  subnet?: string;
  /** No route out of the lab (Docker `--internal`); true unless the file says `internal: false`. */
  internal: boolean;
}

/** One direction of a link; `between: [a, b]` in the file becomes two of these. */
export interface TopologyLink {
  from: string;
  to: string;
  /** The link's conditions, in the one condition language's model (src/conditions). */
  impairment: Impairment;
  /** Where it was written, for messages from the impairment layer. */
  source: string;
}

export interface Topology {
  name: string;
  /** The file it came from, when it came from a file. */
  file?: string;
  networks: TopologyNetwork[];
  nodes: TopologyNode[];
  links: TopologyLink[];
  /** The engines the lab spreads over (the first is the primary: lease, networks, images); absent: the one engine acklab talks to. */
  engines?: TopologyEngine[];
  /** With engines: how their swarm comes to be. */
  swarm?: SwarmMode;
  /** Start order: each stage's nodes start in parallel once every earlier stage is ready. */
  stages: string[][];
}
