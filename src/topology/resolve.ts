/**
 * Raw YAML → validated, resolved Topology (containerlab's RawLink.Resolve idea): schema first,
 * then names, references, subnets, kinds and links. Every problem is collected with its position.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { DEFAULT_MAX_NODES, advertiseAddressProblem, cidrsOverlap, dnsNameProblem, engineAddressProblem, formatCidr, imageRefProblem, parseCidr, type Ipv4Cidr } from './names.js';
import { envNameProblem, envValueProblem } from './fields.js';
import { MCAST_DEFAULTS, MESH_KINDS, getKind, kindNames, type KindDefinition, type ParsedNode, type ResolveContext } from './kinds.js';
import { TopologyError, type FieldPath, type TopologyIssue } from './issues.js';
import { IMPAIRMENT_FIELDS, parseImpairmentFields } from '../conditions/index.js';
import type { BuildImageSpec, ImageSpec, NodeLimits, NodeLogs, Topology, TopologyEngine, TopologyLink, TopologyNetwork, TopologyNode } from './model.js';
export { DEFAULT_MAX_NODES };
import { DependencyCycleError, startStages } from './order.js';
import { rawImageSchema, rawLinkSchema, rawNodeSchema, rawTopologySchema, type RawLink, type RawTopology } from './schema.js';
import type { YamlSource } from './source.js';

/** The network every node joins when a topology declares none. */
export const IMPLICIT_NETWORK = 'net';

/** What a node container gets unless its `limits`/`logs` (or the defaults') say otherwise. */
export const DEFAULT_LIMITS: Readonly<Required<NodeLimits>> = { memoryBytes: 512 * 1024 ** 2, pids: 512 };
export const DEFAULT_LOGS: Readonly<NodeLogs> = { maxBytes: 10 * 1024 ** 2, maxFiles: 3 };
/** The prefix of a subnet acklab picks itself. */
export const AUTO_SUBNET_PREFIX = 24;

export interface ResolveOptions {
  /** The most nodes the lab may have (default DEFAULT_MAX_NODES). */
  maxNodes?: number;
}

/** Addresses a subnet has for containers: all but the network, gateway and broadcast addresses. */
export const subnetCapacity = (prefix: number) => 2 ** (32 - prefix) - 3;

export function resolveTopology(source: YamlSource, options: ResolveOptions = {}): Topology {
  const issues: TopologyIssue[] = [...source.syntaxIssues];
  const report = (path: FieldPath, message: string, key?: string) => issues.push(source.issue(path, message, key));
  const fail = () => {
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    return new TopologyError(issues);
  };
  if (issues.length > 0) throw fail();

  const parsed = rawTopologySchema.safeParse(source.toJS() ?? {});
  if (!parsed.success) {
    for (const iss of parsed.error.issues) reportZodIssue(iss, [], report);
    throw fail();
  }
  const raw = parsed.data;
  const where = (p: FieldPath) => {
    const at = source.issue(p, '');
    return `${at.file}:${at.line}:${at.column} (${at.path})`;
  };
  const topology = resolveParsed(raw, report, { where, dir: path.dirname(path.resolve(source.file)) }, options.maxNodes ?? DEFAULT_MAX_NODES);
  if (issues.length > 0) throw fail();
  return { ...topology, file: source.file };
}

type Report = (path: FieldPath, message: string, key?: string) => void;

/** Where the file is: build contexts are relative to its folder; `where` gives a field's position. */
interface FileContext {
  where: (path: FieldPath) => string;
  dir: string;
}

function reportZodIssue(iss: z.core.$ZodIssue, prefix: FieldPath, report: Report): void {
  const path = [...prefix, ...(iss.path as (string | number)[])];
  if (iss.code === 'unrecognized_keys') {
    for (const key of iss.keys) report(path, `unknown field "${key}"; ${iss.message.replace(/^unknown field; /, '')}`, key);
  } else if (iss.code === 'invalid_union' && iss.errors.length > 0 && iss.message === 'Invalid input') {
    // Durations and the like: show the branch that explains the unit rather than "Invalid input".
    const first = iss.errors.flat()[0];
    report(path, first?.message ?? iss.message);
  } else {
    report(path, iss.message);
  }
}

function resolveParsed(raw: RawTopology, report: Report, file: FileContext, maxNodes: number): Omit<Topology, 'file'> {
  const nameProblem = dnsNameProblem(raw.name);
  if (nameProblem) report(['name'], nameProblem);

  // Networks: names, subnets, overlaps.
  const rawNetworks = raw.networks ?? { [IMPLICIT_NETWORK]: null };
  const networks: TopologyNetwork[] = [];
  const cidrs: { name: string; cidr: Ipv4Cidr }[] = [];
  for (const [name, spec] of Object.entries(rawNetworks)) {
    const p = dnsNameProblem(name);
    if (p) report(['networks'], p, name);
    const net: TopologyNetwork = { name, internal: spec?.internal ?? true };
    if (spec?.subnet !== undefined) {
      try {
        const cidr = parseCidr(spec.subnet);
        const clash = cidrs.find((c) => cidrsOverlap(c.cidr, cidr));
        if (clash) {
          report(['networks', name, 'subnet'], `subnet ${formatCidr(cidr)} overlaps network "${clash.name}" (${formatCidr(clash.cidr)}); networks of a lab need disjoint subnets`);
        }
        cidrs.push({ name, cidr });
        net.subnet = formatCidr(cidr);
      } catch (err) {
        report(['networks', name, 'subnet'], (err as Error).message);
      }
    }
    networks.push(net);
  }
  const networkNames = networks.map((n) => n.name);
  const checkNetworkRefs = (list: string[] | undefined, path: FieldPath) =>
    (list ?? []).forEach((n, i) => {
      if (!networkNames.includes(n)) report([...path, i], `no network named "${n}"; networks: ${networkNames.join(', ')}`);
    });
  checkNetworkRefs(raw.defaults?.networks, ['defaults', 'networks']);

  const nodeNames = Object.keys(raw.nodes);
  if (nodeNames.length === 0) report(['nodes'], 'a topology needs at least one node');
  if (nodeNames.length > maxNodes) {
    report(['nodes'], `the lab has ${nodeNames.length} nodes; acklab starts at most ${maxNodes} nodes in one lab (--max-nodes N raises the ceiling)`);
  }
  checkEnv(raw.defaults?.env, ['defaults', 'env'], report);

  const images = resolveImages(raw.images ?? {}, report, file);
  const engines = resolveEngines(raw.engines, report);
  if (raw.swarm !== undefined && (engines?.length ?? 0) < 2) {
    report(['swarm'], 'swarm: applies to a lab over several engines; list two or more under engines:, or remove swarm:');
  }

  // Defaults per kind: validated as partial args of that kind.
  const kindList = kindNames().join(', ');
  for (const [kind, args] of Object.entries(raw.defaults?.args ?? {})) {
    const def = getKind(kind);
    if (!def) {
      report(['defaults', 'args'], `unknown kind "${kind}"; valid kinds: ${kindList}`, kind);
      continue;
    }
    const partial = (def.args as unknown as z.ZodObject).partial().safeParse(args);
    if (!partial.success) for (const iss of partial.error.issues) reportZodIssue(iss, ['defaults', 'args', kind], report);
  }

  // Pass 1: names, kinds, args, networks of each node.
  const parsed = new Map<string, ParsedNode & { def: KindDefinition; env: Record<string, string>; dependsOn: string[]; image?: ImageSpec; limits: NodeLimits; logs: NodeLogs }>();
  for (const [name, rawSpec] of Object.entries(raw.nodes)) {
    const p = dnsNameProblem(name);
    if (p) report(['nodes'], p, name);
    const node = rawNodeSchema.safeParse(rawSpec);
    if (!node.success) {
      for (const iss of node.error.issues) reportZodIssue(iss, ['nodes', name], report);
      continue;
    }
    const spec = node.data;
    const def = getKind(spec.kind);
    if (!def) {
      report(['nodes', name, 'kind'], `unknown kind "${spec.kind}"; valid kinds: ${kindList}`);
      continue;
    }
    const image = nodeImage(name, spec, def, images, report, file);
    checkNetworkRefs(spec.networks, ['nodes', name, 'networks']);
    let nodeNetworks = spec.networks ?? raw.defaults?.networks;
    if (nodeNetworks === undefined) {
      if (networkNames.length === 1) nodeNetworks = networkNames;
      else {
        report(['nodes', name], `with several networks each node must list its networks (or set defaults.networks); networks: ${networkNames.join(', ')}`);
        nodeNetworks = [];
      }
    } else if (nodeNetworks.length === 0) {
      report(['nodes', name, 'networks'], `a node must join at least one network; networks: ${networkNames.join(', ')}`);
    }
    const merged = { ...(raw.defaults?.args?.[spec.kind] ?? {}), ...(spec.args ?? {}) };
    const args = def.args.safeParse(merged);
    if (!args.success) {
      for (const iss of args.error.issues) reportZodIssue(iss, ['nodes', name, 'args'], report);
      continue;
    }
    checkEnv(spec.env, ['nodes', name, 'env'], report);
    const env = Object.fromEntries(
      Object.entries({ ...(raw.defaults?.env ?? {}), ...(spec.env ?? {}) }).map(([k, v]) => [k, String(v)]),
    );
    const limits = mergeLimits(raw.defaults?.limits, spec.limits);
    const logs: NodeLogs = {
      maxBytes: spec.logs?.maxSize ?? raw.defaults?.logs?.maxSize ?? DEFAULT_LOGS.maxBytes,
      maxFiles: spec.logs?.maxFiles ?? raw.defaults?.logs?.maxFiles ?? DEFAULT_LOGS.maxFiles,
    };
    parsed.set(name, { name, kind: spec.kind, networks: [...new Set(nodeNetworks)], args: args.data, def, env, dependsOn: spec.dependsOn ?? [], ...(image ? { image } : {}), limits, logs });
  }

  checkMeshGroup(parsed, report);

  // Mcast ids (acklab's mcast and mcast-impl members alike): explicit ones first, then file order fills the gaps from 1.
  const isMesh = (kind: string) => (MESH_KINDS as readonly string[]).includes(kind);
  const ids = new Map<string, number>();
  const used = new Map<number, string>();
  for (const n of parsed.values()) {
    const id = isMesh(n.kind) ? (n.args.id as number | undefined) : undefined;
    if (id === undefined) continue;
    const other = used.get(id);
    if (other !== undefined) report(['nodes', n.name, 'args', 'id'], `mcast id ${id} is already used by "${other}"; ids must be unique`);
    used.set(id, n.name);
    ids.set(n.name, id);
  }
  let next = 1;
  for (const n of parsed.values()) {
    if (!isMesh(n.kind) || ids.has(n.name)) continue;
    while (used.has(next)) next++;
    used.set(next, n.name);
    ids.set(n.name, next);
  }

  const shareNetwork = (a: string, b: string) => {
    const na = parsed.get(a)?.networks ?? [];
    return (parsed.get(b)?.networks ?? []).some((n) => na.includes(n));
  };

  // Pass 2: each kind resolves its references into argv, ports and readiness.
  const allKinds = new Map(
    Object.entries(raw.nodes).map(([name, spec]) => [name, typeof (spec as { kind?: unknown })?.kind === 'string' ? (spec as { kind: string }).kind : '']),
  );
  const placed = placeNodes(raw, engines, parsed.keys(), report);
  const nodes: TopologyNode[] = [];
  for (const n of parsed.values()) {
    const ctx: ResolveContext = {
      nodes: parsed,
      allNames: nodeNames,
      error: (path, message) => report(['nodes', n.name, 'args', ...path], message),
      nodeError: (path, message) => report(['nodes', n.name, ...path], message),
      shareNetwork,
      mcastId: (name) => ids.get(name) ?? 0,
      allKinds: () => allKinds,
      ...(n.image ? { image: n.image } : {}),
    };
    const r = n.def.resolve(n, ctx);
    const dependsOn = [...r.dependsOn];
    n.dependsOn.forEach((dep, i) => {
      if (dep === n.name) report(['nodes', n.name, 'dependsOn', i], 'a node cannot depend on itself');
      else if (!nodeNames.includes(dep)) report(['nodes', n.name, 'dependsOn', i], `no node named "${dep}"; nodes: ${nodeNames.join(', ')}`);
      else if (!dependsOn.includes(dep)) dependsOn.push(dep);
    });
    const node: TopologyNode = {
      name: n.name,
      kind: n.kind,
      role: r.role,
      networks: n.networks,
      image: r.image,
      command: r.command,
      env: { ...n.env, ...(r.env ?? {}) },
      ports: r.ports,
      ready: r.ready,
      dependsOn,
      limits: n.limits,
      logs: n.logs,
    };
    if (r.group !== undefined) node.group = r.group;
    if (r.gate !== undefined) node.gate = r.gate;
    const engine = placed.get(n.name);
    if (engine !== undefined) node.engine = engine;
    nodes.push(node);
  }

  // Each node takes one address on each of its networks: the subnet must have room for all of them.
  for (const net of nodeNames.length > maxNodes ? [] : networks) {
    const members = [...parsed.values()].filter((n) => n.networks.includes(net.name)).length;
    const prefix = net.subnet === undefined ? AUTO_SUBNET_PREFIX : Number(net.subnet.split('/')[1]);
    if (members <= subnetCapacity(prefix)) continue;
    let fits = prefix;
    while (fits > 8 && subnetCapacity(fits) < members) fits--;
    if (net.subnet === undefined) {
      const at = raw.networks === undefined ? ['nodes'] : ['networks', net.name];
      report(at, `network "${net.name}" has ${members} nodes, but the /${prefix} acklab picks has room for ${subnetCapacity(prefix)}; give it a larger subnet (e.g. /${fits})`);
    } else {
      report(
        ['networks', net.name, 'subnet'],
        `network "${net.name}" has ${members} nodes, but subnet ${net.subnet} has room for ${subnetCapacity(prefix)} (${2 ** (32 - prefix)} addresses less the network, gateway and broadcast addresses); use a /${fits} or larger`,
      );
    }
  }

  // A node that failed validation has no networks yet: "share no network" would only repeat its problem.
  const linkable = (a: string, b: string) => !parsed.has(a) || !parsed.has(b) || shareNetwork(a, b);
  const links = resolveLinks(raw.links ?? [], nodeNames, linkable, report);

  let stages: string[][] = [];
  try {
    stages = startStages(nodes);
  } catch (err) {
    if (!(err instanceof DependencyCycleError)) throw err;
    report(['nodes', err.cycle[0]!.split(' ')[0]!, 'dependsOn'], `${err.message}; break the cycle`);
  }
  return { name: raw.name, networks, nodes, links, stages, ...(engines ? { engines, swarm: raw.swarm ?? 'existing' } : {}) };
}

/** `engines:` → the engines, in file order (the first is the primary); names are DNS labels, addresses distinct. */
function resolveEngines(raw: RawTopology['engines'], report: Report): TopologyEngine[] | undefined {
  if (raw === undefined) return undefined;
  const engines: TopologyEngine[] = [];
  const byAddress = new Map<string, string>();
  for (const [name, given] of Object.entries(raw)) {
    const { address, advertise } = typeof given === 'string' ? { address: given, advertise: undefined } : given;
    const at = typeof given === 'string' ? ['engines', name] : ['engines', name, 'address'];
    const nameProblem = dnsNameProblem(name);
    if (nameProblem) report(['engines'], nameProblem, name);
    if (name === 'auto') report(['engines'], '"auto" is the value that spreads nodes over the engines; name the engine otherwise', name);
    const addressProblem = engineAddressProblem(address);
    if (addressProblem) report(at, addressProblem);
    const other = byAddress.get(address);
    if (other !== undefined) report(at, `engine "${name}" has the address of engine "${other}" (${address}); each engine is listed once`);
    byAddress.set(address, name);
    if (advertise !== undefined) {
      const problem = advertiseAddressProblem(advertise);
      if (problem) report(['engines', name, 'advertise'], problem);
    }
    engines.push({ name, address, ...(advertise === undefined ? {} : { advertise }) });
  }
  if (engines.length === 0) report(['engines'], 'engines: lists no engine; list at least one, or leave engines: out for the one engine acklab talks to');
  return engines;
}

/**
 * Each node's engine: the one it names, else the engine with the fewest nodes so far (file order
 * breaks ties), so `engine: auto` or no `engine:` spreads the nodes evenly, in file order.
 */
function placeNodes(raw: RawTopology, engines: TopologyEngine[] | undefined, names: Iterable<string>, report: Report): Map<string, string> {
  const placed = new Map<string, string>();
  const rawNodes = raw.nodes as Record<string, { engine?: unknown } | null>;
  const wanted = (name: string) => {
    const e = rawNodes[name]?.engine;
    return typeof e === 'string' && e !== 'auto' ? e : undefined;
  };
  const list = [...names];
  if (engines === undefined) {
    for (const name of list) if (wanted(name) !== undefined) report(['nodes', name, 'engine'], 'the topology lists no engines; add engines: { NAME: ADDRESS, … } at the top, or remove engine:');
    return placed;
  }
  if (engines.length === 0) return placed;
  const load = new Map(engines.map((e) => [e.name, 0]));
  for (const name of list) {
    const e = wanted(name);
    if (e === undefined) continue;
    if (!load.has(e)) {
      report(['nodes', name, 'engine'], `no engine named "${e}"; engines: ${engines.map((x) => x.name).join(', ')}, or auto`);
      continue;
    }
    placed.set(name, e);
    load.set(e, load.get(e)! + 1);
  }
  for (const name of list) {
    if (placed.has(name) || wanted(name) !== undefined) continue;
    let best = engines[0]!.name;
    for (const e of engines) if (load.get(e.name)! < load.get(best)!) best = e.name;
    placed.set(name, best);
    load.set(best, load.get(best)! + 1);
  }
  return placed;
}

function resolveLinks(
  rawLinks: unknown[],
  nodeNames: string[],
  shareNetwork: (a: string, b: string) => boolean,
  report: Report,
): TopologyLink[] {
  const links: TopologyLink[] = [];
  const seen = new Map<string, number>();
  rawLinks.forEach((rawLink, i) => {
    const path = ['links', i];
    const parsed = rawLinkSchema.safeParse(rawLink);
    if (!parsed.success) {
      for (const iss of parsed.error.issues) reportZodIssue(iss, path, report);
      return;
    }
    const link: RawLink = parsed.data;
    let pairs: [string, string][] = [];
    if (link.between !== undefined) {
      if (link.from !== undefined || link.to !== undefined) {
        report(path, 'use either between: [a, b] (both directions) or from/to (one direction), not both');
        return;
      }
      const [a, b] = link.between as [string, string];
      pairs = [[a, b], [b, a]];
    } else if (link.from !== undefined && link.to !== undefined) {
      pairs = [[link.from, link.to]];
    } else {
      report(path, 'a link needs between: [a, b] (both directions) or from: a and to: b (one direction)');
      return;
    }
    const refPath = (name: string): FieldPath =>
      link.between !== undefined ? [...path, 'between', link.between.indexOf(name)] : [...path, link.from === name ? 'from' : 'to'];
    const [a, b] = pairs[0]!;
    let ok = true;
    for (const end of [a, b]) {
      if (!nodeNames.includes(end)) {
        report(refPath(end), `no node named "${end}"; nodes: ${nodeNames.join(', ')}`);
        ok = false;
      }
    }
    if (!ok) return;
    if (a === b) return report(path, `a link joins two different nodes; both ends are "${a}"`);
    const parsedFields = parseImpairmentFields(link);
    if (!parsedFields) return report(path, `a link needs at least one condition: ${IMPAIRMENT_FIELDS.map((f) => f.key).join(', ')}`);
    // Each problem at its own field (the YAML key in the path).
    if (parsedFields.problems) return parsedFields.problems.forEach((p) => report(p.key ? [...path, p.key] : path, p.message));
    const { impairment } = parsedFields;
    if (!shareNetwork(a, b)) return report(path, `"${a}" and "${b}" share no network, so there is no link to shape`);
    for (const [from, to] of pairs) {
      const key = `${from}→${to}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        report(path, `duplicate link ${from} → ${to}: links[${earlier}] already sets this direction`);
        continue;
      }
      seen.set(key, i);
      links.push({ from, to, impairment, source: `links[${i}]` });
    }
  });
  return links;
}

function checkEnv(env: Record<string, string | number | boolean> | undefined, path: FieldPath, report: Report): void {
  for (const [key, value] of Object.entries(env ?? {})) {
    const problem = envNameProblem(key) ?? envValueProblem(String(value));
    if (problem) report(path, problem, key);
  }
}

type RawLimits = { memory?: number | null; pids?: number | null };

/** Defaults' limits, then the node's, field by field; null ("none") lifts a limit. */
function mergeLimits(defaults: RawLimits | undefined, node: RawLimits | undefined): NodeLimits {
  const memory = node?.memory !== undefined ? node.memory : defaults?.memory !== undefined ? defaults.memory : DEFAULT_LIMITS.memoryBytes;
  const pids = node?.pids !== undefined ? node.pids : defaults?.pids !== undefined ? defaults.pids : DEFAULT_LIMITS.pids;
  return { ...(memory === null ? {} : { memoryBytes: memory }), ...(pids === null ? {} : { pids }) };
}

/** Image names become part of a repository name (`acklab/build-<name>`): lower case, digits, "-". */
function imageNameProblem(name: string): string | undefined {
  return /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(name)
    ? undefined
    : `"${name}" is not a valid image name: use 1–63 lower-case letters, digits and "-", starting and ending with a letter or digit`;
}

/** A build context: a folder (relative to the topology file) holding a Dockerfile. Undefined after reporting why not. */
function buildContext(value: string, at: FieldPath, report: Report, file: FileContext): string | undefined {
  const dir = path.resolve(file.dir, value);
  const shown = displayPath(dir);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    report(at, `no folder ${shown} (a build context is relative to the topology file's folder)`);
    return undefined;
  }
  if (!isDir) return report(at, `${shown} is a file; a build context is a folder holding a Dockerfile`), undefined;
  if (!existsSync(path.join(dir, 'Dockerfile'))) return report(at, `${shown} has no Dockerfile`), undefined;
  return dir;
}

/** A path as a message shows it: relative to the working folder when inside it. */
function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}

/** The topology's `images:`: each a build context (and build args), by name. */
function resolveImages(raw: Record<string, unknown>, report: Report, file: FileContext): Map<string, BuildImageSpec> {
  const images = new Map<string, BuildImageSpec>();
  for (const [name, value] of Object.entries(raw)) {
    const problem = imageNameProblem(name);
    if (problem) report(['images'], problem, name);
    const spec = rawImageSchema.safeParse(typeof value === 'string' ? { build: value } : value);
    if (!spec.success) {
      for (const iss of spec.error.issues) reportZodIssue(iss, ['images', name], report);
      continue;
    }
    const at: FieldPath = typeof value === 'string' ? ['images', name] : ['images', name, 'build'];
    const buildArgs = Object.fromEntries(Object.entries(spec.data.args ?? {}).map(([k, v]) => [k, String(v)]));
    const baseArg = 'ACKLAB_BASE' in buildArgs;
    if (baseArg) report(['images', name, 'args', 'ACKLAB_BASE'], 'ACKLAB_BASE is set by acklab (its Debian base image); leave it out');
    const context = buildContext(spec.data.build, at, report, file);
    if (context === undefined || problem || baseArg) continue;
    images.set(name, { type: 'build', name, context, buildArgs, origin: file.where(at) });
  }
  return images;
}

/** A node's own `build:` or `image:`, for kinds that run an image of the user's (undefined: the kind's default). */
function nodeImage(
  name: string,
  spec: { kind: string; build?: string | undefined; image?: string | undefined },
  def: KindDefinition,
  images: ReadonlyMap<string, BuildImageSpec>,
  report: Report,
  file: FileContext,
): ImageSpec | undefined {
  if (spec.build === undefined && spec.image === undefined) return undefined;
  const field = spec.build !== undefined ? 'build' : 'image';
  if (!def.takesImage) {
    const takers = kindNames().filter((k) => getKind(k)?.takesImage);
    report(['nodes', name, field], `${field}: is for kinds that run an image of yours (${takers.join(', ')}); kind ${def.name} runs acklab's own program on acklab's node image`);
    return undefined;
  }
  if (spec.build !== undefined && spec.image !== undefined) {
    report(['nodes', name, 'image'], 'give either build: (a folder acklab builds) or image: (a name under images:, or a local image), not both');
    return undefined;
  }
  if (spec.image !== undefined) {
    const named = images.get(spec.image);
    if (named) return named;
    const problem = imageRefProblem(spec.image);
    if (problem) return report(['nodes', name, 'image'], problem), undefined;
    return { type: 'local', ref: spec.image };
  }
  const at: FieldPath = ['nodes', name, 'build'];
  const context = buildContext(spec.build!, at, report, file);
  if (context === undefined) return undefined;
  const folder = path.basename(context).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'image';
  return { type: 'build', name: folder, context, buildArgs: {}, origin: file.where(at) };
}

/**
 * One multicast group per lab: acklab's mcast nodes or mcast-impl members, not both (their wire
 * protocols differ, and the checkers grade one group). The contract gives every member the same count.
 */
function checkMeshGroup(parsed: ReadonlyMap<string, ParsedNode>, report: Report): void {
  const acklab = [...parsed.values()].filter((n) => n.kind === 'mcast');
  const impl = [...parsed.values()].filter((n) => n.kind === 'mcast-impl');
  if (acklab.length > 0 && impl.length > 0) {
    report(['nodes', impl[0]!.name, 'kind'], `a lab runs one multicast group: mcast nodes (${acklab.map((n) => n.name).join(', ')}) or mcast-impl members, not both`);
  }
  const first = impl[0];
  const countOf = (n: ParsedNode) => (n.args.count as number | undefined) ?? MCAST_DEFAULTS.count;
  for (const n of impl.slice(1)) {
    if (countOf(n) !== countOf(first!)) {
      report(['nodes', n.name, 'args', 'count'], `every mcast-impl member multicasts the same count (ACKLAB_COUNT): "${first!.name}" has ${countOf(first!)}, "${n.name}" has ${countOf(n)}; set it once in defaults.args.mcast-impl`);
    }
  }
}
