/**
 * Waiting for a lab's overlay networks to carry traffic between engines. A swarm spreads where a
 * new container is to the other engines by gossip; until it has, their packets to it are lost (on
 * this machine, seconds at times). So before a lab over several engines is handed over, every
 * engine with nodes must reach every node of the other engines: one probe container per engine
 * (acklab's shaper image, already on every engine of such a lab) joins the lab's networks and
 * opens a TCP connection to each such node's address on a port nothing listens on. An answer,
 * accepted or refused, is the path working both ways; a node's programs see no connection.
 */
import { AcklabError, createLabels, errorMessage } from '../common/index.js';
import type { Runtime } from '../runtime/index.js';
import { settleAll } from './cleanup.js';
import type { RunLabels } from './naming.js';

/** How long a lab waits for its overlay networks before `up` fails. */
export const OVERLAY_SETTLE_TIMEOUT_MS = 60_000;
/** The port probed: discard, which acklab's programs never listen on (a listener answers as well). */
export const PROBE_PORT = 9;

/**
 * Run with `node -e` in the probe: argv deadline-ms port ip…; tries each ip until it answers or the
 * deadline passes; prints {ip: ms until it answered} for those that did.
 */
export const SETTLE_SCRIPT = `
const net = require('net');
const [deadline, port, ...ips] = process.argv.slice(1);
const t0 = Date.now(), end = t0 + Number(deadline), out = {};
const once = (host) => new Promise((done) => {
  const s = net.connect({ host, port: Number(port), timeout: 300 });
  const fin = (ok) => { s.destroy(); done(ok); };
  s.on('connect', () => fin(true));
  s.on('error', (e) => fin(e.code === 'ECONNREFUSED'));
  s.on('timeout', () => fin(false));
});
const one = async (ip) => {
  for (;;) {
    if (await once(ip)) { out[ip] = Date.now() - t0; return; }
    if (Date.now() >= end) return;
    await new Promise((r) => setTimeout(r, 100));
  }
};
Promise.all(ips.map(one)).then(() => console.log(JSON.stringify(out)));
`;

/** What the wait needs of a started node and network (StartedNode, StartedNetwork). */
interface ProbedNode {
  name: string;
  engine?: string;
  containerId: string;
  addresses: Record<string, string>;
}
interface ProbedNetwork {
  name: string;
  id: string;
}

export interface OverlayPath {
  /** The engine probed from. */
  from: string;
  node: string;
  network: string;
  ip: string;
  /** Milliseconds until it answered; undefined: it never did. */
  ms?: number;
}

export interface OverlaySettle {
  paths: OverlayPath[];
  /** Milliseconds until the last path answered. */
  ms: number;
}

export interface SettleOptions {
  image: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Waits until every engine with nodes reaches every running node of the other engines on every
 * lab network they share, in rounds of ROUND_MS (a node that exits meanwhile is no longer waited
 * for); throws an AcklabError naming each path that never answered. The probes are removed
 * whatever happens.
 */
export async function waitOverlaySettled(runtime: Runtime, run: RunLabels, nodes: readonly ProbedNode[], networks: readonly ProbedNetwork[], options: SettleOptions): Promise<OverlaySettle> {
  const timeoutMs = options.timeoutMs ?? OVERLAY_SETTLE_TIMEOUT_MS;
  const t0 = Date.now();
  const engines = [...new Set(nodes.map((n) => n.engine).filter((e): e is string => e !== undefined))];
  let paths: OverlayPath[] = engines.flatMap((engine) =>
    nodes.filter((n) => n.engine !== engine).flatMap((n) => Object.entries(n.addresses).map(([network, ip]) => ({ from: engine, node: n.name, network, ip }))),
  );
  const probes = new Map<string, string>();
  try {
    await settleAll(
      engines.map(async (engine) => {
        const wanted = networks.filter((net) => paths.some((p) => p.from === engine && p.network === net.name));
        if (wanted.length === 0) return;
        const [first, ...more] = wanted;
        const id = await runtime.containers.create({
          image: options.image,
          command: ['sleep', String(Math.ceil(timeoutMs / 1000) + 30)],
          labels: createLabels({ role: 'probe', ...run, engine }),
          network: { id: first!.id, aliases: [] },
        });
        probes.set(engine, id);
        for (const net of more) await runtime.networks.connect(net.id, id, []);
        await runtime.containers.start(id);
      }),
    );
    for (;;) {
      const outstanding = paths.filter((p) => p.ms === undefined);
      const left = timeoutMs - (Date.now() - t0);
      if (outstanding.length === 0 || left <= 0) break;
      const round = Date.now() - t0;
      const answered = await settleAll([...probes].map(([engine, id]) => probe(runtime, engine, id, Math.min(ROUND_MS, left), outstanding.filter((p) => p.from === engine))));
      const byPath = new Map(answered.flat().map(([from, ip, ms]) => [`${from} ${ip}`, round + ms]));
      paths = paths.map((p) => (p.ms === undefined && byPath.has(`${p.from} ${p.ip}`) ? { ...p, ms: byPath.get(`${p.from} ${p.ip}`)! } : p));
      // A node that is not running any more (a client that finished) has no address to reach.
      const silent = new Set(paths.filter((p) => p.ms === undefined).map((p) => p.node));
      for (const node of silent) {
        const id = nodes.find((n) => n.name === node)!.containerId;
        const info = await runtime.containers.inspect(id).catch(() => undefined);
        if (!info?.running) paths = paths.filter((p) => p.node !== node);
      }
    }
  } finally {
    await settleAll([...probes.values()].map((id) => runtime.containers.remove(id).catch(() => undefined)));
  }
  const missing = paths.filter((p) => p.ms === undefined);
  if (missing.length > 0) {
    const list = missing.map((p) => `  - engine "${p.from}" does not reach node "${p.node}" (engine "${nodes.find((n) => n.name === p.node)?.engine}", ${p.ip} on ${p.network})`).join('\n');
    throw new AcklabError(
      `lab "${run.lab}": after ${timeoutMs / 1000} s the overlay network still does not carry traffic between engines:\n${list}\n` +
        "the engines must reach each other on 4789/udp (VXLAN data) and 7946/tcp+udp (the swarm's gossip), at the addresses they advertise",
    );
  }
  const ms = paths.reduce((max, p) => Math.max(max, p.ms ?? 0), 0);
  options.log?.(`overlay: every path between engines answers (${paths.length}; the last after ${(ms / 1000).toFixed(1)} s, ${((Date.now() - t0) / 1000).toFixed(1)} s with the probes)`);
  return { paths, ms };
}

/** How long one round of probing lasts before acklab looks which nodes still run. */
export const ROUND_MS = 3000;

/** One round from one engine's probe: [engine, ip, ms into the round] for each ip that answered. */
async function probe(runtime: Runtime, engine: string, id: string, deadlineMs: number, paths: OverlayPath[]): Promise<[string, string, number][]> {
  if (paths.length === 0) return [];
  const r = await runtime.containers.exec(id, ['node', '-e', SETTLE_SCRIPT, String(deadlineMs), String(PROBE_PORT), ...new Set(paths.map((p) => p.ip))]);
  if (r.exitCode !== 0) throw new AcklabError(`the overlay probe on engine "${engine}" exited ${r.exitCode}: ${r.stderr.trim() || r.stdout.trim()}`);
  let answered: Record<string, number>;
  try {
    answered = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as Record<string, number>;
  } catch (err) {
    throw new AcklabError(`the overlay probe on engine "${engine}" printed no result (${errorMessage(err)}): ${r.stdout.trim().slice(-200)}`, 1, { cause: err });
  }
  return Object.entries(answered).map(([ip, ms]) => [engine, ip, ms]);
}
