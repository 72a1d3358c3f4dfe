/**
 * The node-kind registry (containerlab's NodeRegistry): each kind validates its own `args`,
 * turns them into the argv of an acklab program, and says how readiness is checked. Node names
 * in args (a server, mcast peers) resolve to DNS names and ports here, so nobody writes an IP.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { formatDuration } from '../common/index.js';
import { count, interval, nodeRef, port, strict, timeout } from './fields.js';
import type { FieldPath } from './issues.js';
import { imageRefProblem } from './names.js';
import type { BuildImageSpec, ImageSpec, NodeRole, Readiness } from './model.js';

export const DEFAULT_PORTS = { echo: 8881, peer: 8888, mcast: 9000 } as const;
export const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** A node after its args are validated, before references are resolved. */
export interface ParsedNode {
  name: string;
  kind: string;
  networks: string[];
  args: Record<string, unknown>;
}

export interface ResolveContext {
  nodes: ReadonlyMap<string, ParsedNode>;
  /** Every node name in the file, including nodes that failed validation (already reported). */
  allNames: readonly string[];
  /** Reports a problem at a path below this node's args. */
  error(path: FieldPath, message: string): void;
  /** Reports a problem at the node itself (a path below `nodes.<name>`). */
  nodeError(path: FieldPath, message: string): void;
  /** Nodes sharing at least one network with both. */
  shareNetwork(a: string, b: string): boolean;
  /** The mcast id assigned to a node (explicit or by file order). */
  mcastId(name: string): number;
  /** The node's own `build:` or `image:` (only kinds with `takesImage` get one). */
  image?: ImageSpec;
  /** Every node name in the file with its kind as written (also nodes whose args failed validation). */
  allKinds(): ReadonlyMap<string, string>;
}

export interface KindResolution {
  role: NodeRole;
  image: ImageSpec;
  command: string[];
  env?: Record<string, string>;
  ports: number[];
  ready: Readiness;
  dependsOn: string[];
  group?: string;
  /** The program can wait for an experiment's start gate (see TopologyNode.gate). */
  gate?: boolean;
}

export interface KindDefinition<A = Record<string, unknown>> {
  name: string;
  summary: string;
  args: z.ZodType<A>;
  /** The port other nodes reach this node on (servers and mesh members). */
  listenPort?(args: A): number;
  /** The node may say `build: DIR` or `image: NAME` (kinds whose program is not one of acklab's). */
  takesImage?: boolean;
  resolve(node: ParsedNode & { args: A }, ctx: ResolveContext): KindResolution;
}

const ACKLAB_NODE: ImageSpec = { type: 'acklab-node' };
const d = (ms: number) => formatDuration(ms);
const opt = (flag: string, v: string | number | undefined) => (v === undefined ? [] : [flag, String(v)]);

const echoArgs = strict({ port: port().optional(), readyTimeout: timeout().optional() });
const echo: KindDefinition<z.output<typeof echoArgs>> = {
  name: 'echo',
  summary: 'acklab-echo: writes back every byte it receives (default port 8881)',
  args: echoArgs,
  listenPort: (a) => a.port ?? DEFAULT_PORTS.echo,
  resolve: ({ args }) => {
    const p = args.port ?? DEFAULT_PORTS.echo;
    return {
      role: 'server',
      image: ACKLAB_NODE,
      command: ['acklab-echo', '--host', '0.0.0.0', '--port', String(p)],
      ports: [p],
      ready: { type: 'port', port: p, timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
      dependsOn: [],
    };
  },
};

const peerServerArgs = strict({
  port: port().optional(),
  log: z.string({ error: 'expected a file path inside the container' }).optional(),
  readyTimeout: timeout().optional(),
});
const peerServer: KindDefinition<z.output<typeof peerServerArgs>> = {
  name: 'peer-server',
  summary: 'acklab-peer server: acks every <update> (default port 8888)',
  args: peerServerArgs,
  listenPort: (a) => a.port ?? DEFAULT_PORTS.peer,
  resolve: ({ args }) => {
    const p = args.port ?? DEFAULT_PORTS.peer;
    return {
      role: 'server',
      image: ACKLAB_NODE,
      // 0.0.0.0: the seed's default host (127.0.0.1) would be unreachable from other containers.
      command: ['acklab-peer', 'server', `0.0.0.0:${p}`, ...opt('--log', args.log)],
      ports: [p],
      ready: { type: 'port', port: p, timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
      dependsOn: [],
    };
  },
};

/**
 * A peer client's server: checked to be a peer server node sharing a network with the client
 * (each problem reported on `server`), and its `host:port` (the default port when it is not one).
 */
function peerServerOf(name: string, serverName: string, kind: string, ctx: ResolveContext): { server: ParsedNode | undefined; target: string } {
  const server = ctx.nodes.get(serverName);
  if (!server) {
    if (!ctx.allNames.includes(serverName)) ctx.error(['server'], `no node named "${serverName}"; nodes: ${ctx.allNames.join(', ')}`);
    return { server, target: `${serverName}:${DEFAULT_PORTS.peer}` };
  }
  if (!PEER_SERVER_KINDS.includes(server.kind)) {
    ctx.error(['server'], `"${serverName}" is a node of kind ${server.kind}; a ${kind}'s server must be a ${PEER_SERVER_KINDS.join(' or ')} node`);
    return { server, target: `${serverName}:${DEFAULT_PORTS.peer}` };
  }
  if (!ctx.shareNetwork(name, serverName)) ctx.error(['server'], `"${name}" and "${serverName}" share no network, so the client cannot reach its server`);
  return { server, target: `${serverName}:${peerServerPort(server)}` };
}

const peerClientArgs = strict({
  server: nodeRef(),
  interval: interval().optional(),
  count: count().optional(),
  duration: timeout().optional(),
  reconnect: z.boolean({ error: 'expected true or false' }).optional(),
  log: z.string({ error: 'expected a file path inside the container' }).optional(),
  readyTimeout: timeout().optional(),
});
const peerClient: KindDefinition<z.output<typeof peerClientArgs>> = {
  name: 'peer-client',
  summary: 'acklab-peer client: sends <update> every interval to a peer-server node and counts acks',
  args: peerClientArgs,
  resolve: ({ name, args }, ctx) => {
    const { server, target } = peerServerOf(name, args.server, 'peer-client', ctx);
    return {
      role: 'client',
      image: ACKLAB_NODE,
      command: [
        'acklab-peer', 'client', target,
        ...opt('--interval', args.interval === undefined ? undefined : d(args.interval)),
        ...opt('--count', args.count),
        ...opt('--duration', args.duration === undefined ? undefined : d(args.duration)),
        ...(args.reconnect ? ['--reconnect'] : []),
        ...opt('--log', args.log),
      ],
      ports: [],
      ready: { type: 'started', timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
      dependsOn: server ? [args.server] : [],
    };
  },
};

const mcastArgs = strict({
  id: z.int({ error: 'expected a whole number ≥ 0' }).min(0, 'an id is ≥ 0').optional(),
  port: port().optional(),
  peers: z.array(nodeRef(), { error: 'expected a list of mcast node names' }).optional(),
  count: count().optional(),
  interval: interval().optional(),
  out: z.string({ error: 'expected a file path inside the container' }).optional(),
  connectTimeout: timeout().optional(),
  duration: timeout().optional(),
  grace: timeout().optional(),
  readyTimeout: timeout().optional(),
});
export const MCAST_DEFAULTS = { count: 10, intervalMs: 100 } as const;
const mcast: KindDefinition<z.output<typeof mcastArgs>> = {
  name: 'mcast',
  summary: 'acklab-mcast: totally-ordered multicast with ACKs over a full mesh of mcast nodes (default port 9000)',
  args: mcastArgs,
  listenPort: (a) => a.port ?? DEFAULT_PORTS.mcast,
  resolve: ({ name, args }, ctx) => {
    const listen = args.port ?? DEFAULT_PORTS.mcast;
    // Default peers: every other mcast node in the lab (the course's full mesh).
    const peerNames = args.peers ?? [...ctx.nodes.values()].filter((n) => n.kind === 'mcast' && n.name !== name).map((n) => n.name);
    const peers: string[] = [];
    peerNames.forEach((p, i) => {
      const peer = ctx.nodes.get(p);
      if (p === name) return ctx.error(['peers', i], `"${p}" is this node itself; list the other mcast nodes`);
      if (!peer) {
        if (!ctx.allNames.includes(p)) ctx.error(['peers', i], `no node named "${p}"; nodes: ${ctx.allNames.join(', ')}`);
        return;
      }
      if (peer.kind !== 'mcast') return ctx.error(['peers', i], `"${p}" is a node of kind ${peer.kind}; mcast peers must be mcast nodes`);
      if (!ctx.shareNetwork(name, p)) return ctx.error(['peers', i], `"${name}" and "${p}" share no network`);
      peers.push(`${ctx.mcastId(p)}@${p}:${mcast.listenPort!(peer.args as z.output<typeof mcastArgs>)}`);
    });
    if (peerNames.length === 0) ctx.error([], 'an mcast node needs at least one other mcast node as a peer');
    return {
      role: 'mesh',
      image: ACKLAB_NODE,
      command: [
        'acklab-mcast',
        '--id', String(ctx.mcastId(name)),
        '--listen', String(listen),
        '--peers', peers.join(','),
        '--count', String(args.count ?? MCAST_DEFAULTS.count),
        '--interval', d(args.interval ?? MCAST_DEFAULTS.intervalMs),
        ...opt('--out', args.out),
        ...opt('--connect-timeout', args.connectTimeout === undefined ? undefined : d(args.connectTimeout)),
        ...opt('--duration', args.duration === undefined ? undefined : d(args.duration)),
        ...opt('--grace', args.grace === undefined ? undefined : d(args.grace)),
      ],
      ports: [listen],
      ready: { type: 'port', port: listen, timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
      dependsOn: [],
      group: 'mcast',
    };
  },
};

const customReady = strict({
  port: port().optional(),
  log: z.string({ error: 'expected a regular expression matched against output lines' }).optional(),
  timeout: timeout().optional(),
});
const customArgs = strict({
  image: z.string({ error: 'expected a local image reference, e.g. "alpine:3.20"' }).optional(),
  command: z.union([z.string(), z.array(z.string())], { error: 'expected a shell command string or an argv list' }).optional(),
  ports: z.array(port(), { error: 'expected a list of port numbers' }).optional(),
  ready: customReady.optional(),
});
const custom: KindDefinition<z.output<typeof customArgs>> = {
  name: 'custom',
  summary: 'any image (local, or built with build:) and command (image defaults to acklab\'s node image; a string command runs under sh -c)',
  args: customArgs,
  takesImage: true,
  listenPort: (a) => a.ready?.port ?? a.ports?.[0] ?? 0,
  resolve: ({ args }, ctx) => {
    const timeoutMs = args.ready?.timeout ?? DEFAULT_READY_TIMEOUT_MS;
    if (args.ready?.port !== undefined && args.ready.log !== undefined) {
      ctx.error(['ready'], 'give either ready.port or ready.log, not both');
    }
    if (args.ready?.log !== undefined) {
      try {
        new RegExp(args.ready.log);
      } catch (err) {
        ctx.error(['ready', 'log'], `not a valid regular expression: ${(err as Error).message}`);
      }
    }
    const ready: Readiness =
      args.ready?.port !== undefined
        ? { type: 'port', port: args.ready.port, timeoutMs }
        : args.ready?.log !== undefined
          ? { type: 'log', pattern: args.ready.log, timeoutMs }
          : { type: 'started', timeoutMs };
    const imageProblem = args.image === undefined ? undefined : imageRefProblem(args.image);
    if (imageProblem) ctx.error(['image'], imageProblem);
    const command = commandOf(args.command);
    if (args.image !== undefined && ctx.image !== undefined) {
      ctx.error(['image'], 'the node already says build: or image:; give the image once');
    }
    const image: ImageSpec = ctx.image ?? (args.image === undefined ? ACKLAB_NODE : { type: 'local', ref: args.image });
    if (image.type === 'acklab-node' && command.length === 0) {
      ctx.error([], 'a custom node on acklab\'s node image needs a command');
    }
    return {
      role: 'custom',
      image,
      command,
      ports: [...new Set([...(args.ports ?? []), ...(args.ready?.port !== undefined ? [args.ready.port] : [])])],
      ready,
      dependsOn: [],
    };
  },
};

/** A string command runs under `sh -c`; a list runs as is; none: the image's own CMD. */
function commandOf(command: string | string[] | undefined): string[] {
  return command === undefined ? [] : typeof command === 'string' ? ['sh', '-c', command] : command;
}

/*
 * The seed: the course's Twisted programs (docker/twisted, Python 3 ports with the quirks kept), in
 * the lab as the reference acklab's programs are compared with. Their image is built from acklab's
 * own docker/twisted unless the node says `build:` or `image:` (a student's changed copy).
 */

/** acklab's own seed image: docker/twisted, built like any build context. */
export const SEED_IMAGE: BuildImageSpec = {
  type: 'build',
  name: 'twisted',
  context: fileURLToPath(new URL('../../docker/twisted', import.meta.url)),
  buildArgs: {},
  origin: "acklab's docker/twisted (the seed's Twisted programs)",
};
/** The seed's peer server listens on 8888 whatever port it is given; its echo server on 8881. */
export const SEED_PORTS = { peer: 8888, echo: 8881 } as const;
const SEED_PEER = ['python3', '-u', '/opt/seed/peer.py'];

const twistedPeerServerArgs = strict({ port: port().optional(), readyTimeout: timeout().optional() });
const twistedPeerServer: KindDefinition<z.output<typeof twistedPeerServerArgs>> = {
  name: 'twisted-peer-server',
  summary: "the seed's Twisted peer server: one <Ack> per read, always on port 8888 (a port given is printed, not used)",
  args: twistedPeerServerArgs,
  takesImage: true,
  // The seed's quirk: it listens on 8888 whatever it is given, so clients are wired to 8888.
  listenPort: () => SEED_PORTS.peer,
  resolve: ({ args }, ctx) => ({
    role: 'server',
    image: ctx.image ?? SEED_IMAGE,
    command: [...SEED_PEER, 'server', `0.0.0.0:${args.port ?? SEED_PORTS.peer}`],
    ports: [SEED_PORTS.peer],
    ready: { type: 'port', port: SEED_PORTS.peer, timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
    dependsOn: [],
    gate: true,
  }),
};

const twistedPeerClientArgs = strict({
  server: nodeRef(),
  interval: interval().optional(),
  readyTimeout: timeout().optional(),
});
const twistedPeerClient: KindDefinition<z.output<typeof twistedPeerClientArgs>> = {
  name: 'twisted-peer-client',
  summary: "the seed's Twisted peer client: <update> every interval (PEER_INTERVAL, default the seed's 5 s), counts every read as an ack",
  args: twistedPeerClientArgs,
  takesImage: true,
  resolve: ({ name, args }, ctx) => {
    const { server, target } = peerServerOf(name, args.server, 'twisted-peer-client', ctx);
    return {
      role: 'client',
      image: ctx.image ?? SEED_IMAGE,
      command: [...SEED_PEER, 'client', target],
      // The one deviation of acklab's port of the seed: the update period (seconds), else the seed's 5 s.
      ...(args.interval === undefined ? {} : { env: { PEER_INTERVAL: String(args.interval / 1000) } }),
      ports: [],
      ready: { type: 'started', timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
      dependsOn: server ? [args.server] : [],
      gate: true,
    };
  },
};

const twistedEchoArgs = strict({ readyTimeout: timeout().optional() });
const twistedEcho: KindDefinition<z.output<typeof twistedEchoArgs>> = {
  name: 'twisted-echo',
  summary: "the seed's Twisted echo server: writes back each read, always on port 8881",
  args: twistedEchoArgs,
  takesImage: true,
  listenPort: () => SEED_PORTS.echo,
  resolve: ({ args }, ctx) => ({
    role: 'server',
    image: ctx.image ?? SEED_IMAGE,
    command: ['python3', '-u', '/opt/seed/echo_server.py'],
    ports: [SEED_PORTS.echo],
    ready: { type: 'port', port: SEED_PORTS.echo, timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
    dependsOn: [],
    gate: true,
  }),
};

/** Kinds a peer client (acklab's or the seed's) may name as its server. */
const PEER_SERVER_KINDS = ['peer-server', 'twisted-peer-server'];

function peerServerPort(server: ParsedNode): number {
  return server.kind === 'twisted-peer-server' ? SEED_PORTS.peer : (server.args.port as number | undefined) ?? DEFAULT_PORTS.peer;
}

/*
 * The grading contract (lab/examples/README.md): anyone's multicast & ACK implementation, run as a
 * group member. acklab assigns ids, resolves the peers to id@name:port and says everything else
 * through ACKLAB_* variables; the member writes its delivered sequence (and optionally events) where
 * ACKLAB_OUT and ACKLAB_EVENTS say, and acklab's checkers grade it.
 */

/** Where an implementation writes inside its container (/tmp: writable by any user). */
export const IMPL_FILES = { delivered: '/tmp/acklab-delivered.jsonl', events: '/tmp/acklab-events.ndjson' } as const;

const mcastImplArgs = strict({
  id: z.int({ error: 'expected a whole number ≥ 1' }).min(1, 'an id is ≥ 1 (the contract)').optional(),
  port: port().optional(),
  count: count().optional(),
  interval: interval().optional(),
  duration: timeout().optional(),
  command: z.union([z.string(), z.array(z.string())], { error: 'expected a shell command string or an argv list' }).optional(),
  gate: z.boolean({ error: 'expected true or false' }).optional(),
  readyTimeout: timeout().optional(),
});
const mcastImpl: KindDefinition<z.output<typeof mcastImplArgs>> = {
  name: 'mcast-impl',
  summary: 'your own multicast & ACK implementation (build: DIR or image: NAME), run and graded by the contract of lab/examples/README.md',
  args: mcastImplArgs,
  takesImage: true,
  listenPort: (a) => a.port ?? DEFAULT_PORTS.mcast,
  resolve: ({ name, args }, ctx) => {
    if (ctx.image === undefined) ctx.nodeError([], 'an mcast-impl node runs your implementation: say build: DIR (a folder with a Dockerfile) or image: NAME');
    const listen = args.port ?? DEFAULT_PORTS.mcast;
    const peers: string[] = [];
    for (const peer of ctx.nodes.values()) {
      if (peer.kind !== 'mcast-impl' || peer.name === name) continue;
      if (!ctx.shareNetwork(name, peer.name)) {
        ctx.nodeError([], `"${name}" and "${peer.name}" share no network; every mcast-impl member must reach every other`);
        continue;
      }
      peers.push(`${ctx.mcastId(peer.name)}@${peer.name}:${mcastImpl.listenPort!(peer.args as z.output<typeof mcastImplArgs>)}`);
    }
    if (![...ctx.allKinds()].some(([other, kind]) => kind === 'mcast-impl' && other !== name)) {
      ctx.nodeError([], 'an mcast-impl group needs at least two members');
    }
    const env: Record<string, string> = {
      ACKLAB_ID: String(ctx.mcastId(name)),
      ACKLAB_LISTEN_PORT: String(listen),
      ACKLAB_PEERS: peers.join(','),
      ACKLAB_COUNT: String(args.count ?? MCAST_DEFAULTS.count),
      ACKLAB_INTERVAL_MS: String(Math.round(args.interval ?? MCAST_DEFAULTS.intervalMs)),
      ACKLAB_OUT: IMPL_FILES.delivered,
      ACKLAB_EVENTS: IMPL_FILES.events,
      ...(args.duration === undefined ? {} : { ACKLAB_DURATION_MS: String(Math.round(args.duration)) }),
    };
    return {
      role: 'mesh',
      image: ctx.image ?? ACKLAB_NODE,
      command: commandOf(args.command),
      env,
      ports: [listen],
      ready: { type: 'port', port: listen, timeoutMs: args.readyTimeout ?? DEFAULT_READY_TIMEOUT_MS },
      dependsOn: [],
      group: 'mcast-impl',
      gate: args.gate ?? true,
    };
  },
};

/** Kinds whose nodes form one multicast group, with ids 1, 2, 3… (one group per lab). */
export const MESH_KINDS = ['mcast', 'mcast-impl'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const registry = new Map<string, KindDefinition<any>>(
  [echo, peerServer, peerClient, mcast, custom, twistedPeerServer, twistedPeerClient, twistedEcho, mcastImpl].map((k) => [k.name, k]),
);

export function kindNames(): string[] {
  return [...registry.keys()];
}

export function getKind(name: string): KindDefinition | undefined {
  return registry.get(name);
}

/** Registers a kind (tests, experiments); names must be unique. */
export function registerKind<A>(kind: KindDefinition<A>): void {
  if (registry.has(kind.name)) throw new Error(`node kind "${kind.name}" is already registered`);
  registry.set(kind.name, kind as unknown as KindDefinition);
}
