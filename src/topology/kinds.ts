/**
 * The node-kind registry (containerlab's NodeRegistry): each kind validates its own `args`,
 * turns them into the argv of an acklab program, and says how readiness is checked. Node names
 * in args (a server, mcast peers) resolve to DNS names and ports here, so nobody writes an IP.
 */
import { z } from 'zod';
import { formatDuration } from '../common/index.js';
import { count, duration, nodeRef, port, strict } from './fields.js';
import type { FieldPath } from './issues.js';
import type { ImageSpec, NodeRole, Readiness } from './model.js';

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
  /** Nodes sharing at least one network with both. */
  shareNetwork(a: string, b: string): boolean;
  /** The mcast id assigned to a node (explicit or by file order). */
  mcastId(name: string): number;
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
}

export interface KindDefinition<A = Record<string, unknown>> {
  name: string;
  summary: string;
  args: z.ZodType<A>;
  /** The port other nodes reach this node on (servers and mesh members). */
  listenPort?(args: A): number;
  resolve(node: ParsedNode & { args: A }, ctx: ResolveContext): KindResolution;
}

const ACKLAB_NODE: ImageSpec = { type: 'acklab-node' };
const d = (ms: number) => formatDuration(ms);
const opt = (flag: string, v: string | number | undefined) => (v === undefined ? [] : [flag, String(v)]);

const echoArgs = strict({ port: port().optional(), readyTimeout: duration().optional() });
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
  readyTimeout: duration().optional(),
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

const peerClientArgs = strict({
  server: nodeRef(),
  interval: duration().optional(),
  count: count().optional(),
  duration: duration().optional(),
  reconnect: z.boolean({ error: 'expected true or false' }).optional(),
  log: z.string({ error: 'expected a file path inside the container' }).optional(),
  readyTimeout: duration().optional(),
});
const peerClient: KindDefinition<z.output<typeof peerClientArgs>> = {
  name: 'peer-client',
  summary: 'acklab-peer client: sends <update> every interval to a peer-server node and counts acks',
  args: peerClientArgs,
  resolve: ({ name, args }, ctx) => {
    const server = ctx.nodes.get(args.server);
    let target = `${args.server}:${DEFAULT_PORTS.peer}`;
    if (!server) {
      if (!ctx.allNames.includes(args.server)) ctx.error(['server'], `no node named "${args.server}"; nodes: ${ctx.allNames.join(', ')}`);
    } else if (server.kind !== 'peer-server') {
      ctx.error(['server'], `"${args.server}" is a node of kind ${server.kind}; a peer-client's server must be a peer-server node`);
    } else {
      if (!ctx.shareNetwork(name, args.server)) {
        ctx.error(['server'], `"${name}" and "${args.server}" share no network, so the client cannot reach its server`);
      }
      target = `${args.server}:${peerServer.listenPort!(server.args as z.output<typeof peerServerArgs>)}`;
    }
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
  interval: duration().optional(),
  out: z.string({ error: 'expected a file path inside the container' }).optional(),
  connectTimeout: duration().optional(),
  duration: duration().optional(),
  grace: duration().optional(),
  readyTimeout: duration().optional(),
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
  timeout: duration().optional(),
});
const customArgs = strict({
  image: z.string({ error: 'expected a local image reference, e.g. "alpine:3.20"' }).optional(),
  command: z.union([z.string(), z.array(z.string())], { error: 'expected a shell command string or an argv list' }).optional(),
  ports: z.array(port(), { error: 'expected a list of port numbers' }).optional(),
  ready: customReady.optional(),
});
const custom: KindDefinition<z.output<typeof customArgs>> = {
  name: 'custom',
  summary: 'any local image and command (image defaults to acklab\'s node image; a string command runs under sh -c)',
  args: customArgs,
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
    const command = args.command === undefined ? [] : typeof args.command === 'string' ? ['sh', '-c', args.command] : args.command;
    if (args.image === undefined && command.length === 0) {
      ctx.error([], 'a custom node on acklab\'s node image needs a command');
    }
    return {
      role: 'custom',
      image: args.image === undefined ? ACKLAB_NODE : { type: 'local', ref: args.image },
      command,
      ports: [...new Set([...(args.ports ?? []), ...(args.ready?.port !== undefined ? [args.ready.port] : [])])],
      ready,
      dependsOn: [],
    };
  },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const registry = new Map<string, KindDefinition<any>>([echo, peerServer, peerClient, mcast, custom].map((k) => [k.name, k]));

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
