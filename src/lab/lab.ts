/**
 * Lab → StartedLab (testcontainers' lifecycle-as-types). `start()` claims the lab name (its lease:
 * one run of a name at a time, and a running lab of another owner or process is never touched),
 * creates the networks (a subnet per network, claimed from the engine and read back) and the
 * containers (with memory, pids and log limits), starts the nodes stage by stage in parallel, waits
 * for each to be ready, then runs the start steps (steps.ts). Any failure or abort removes this
 * run; if the process dies instead, its watchdog does (watchdog.ts) — unless the lab was detached.
 */
import { randomBytes } from 'node:crypto';
import { AcklabError, errorMessage, lineLogger, silentLogger, type Logger } from '../common/index.js';
import { buildKey, ensureImages, ensureTopologyImages, type BuiltImages, type ImageTags } from '../images/index.js';
import { dockerRuntime, engineMembers, type NetworkInfo, type Runtime } from '../runtime/index.js';
import { DEFAULT_MAX_NODES, dnsNameProblem, loadTopologySync, parseTopology, type LoadOptions, type Topology, type TopologyNode } from '../topology/index.js';
import { removeByLabels, settleAll } from './cleanup.js';
import { engineAddresses, primaryOf, runtimeForTopology, shipImages, type OpenEngine } from './engines.js';
import { checkSwarm, formSwarm } from './swarm.js';
import { waitOverlaySettled } from './overlay.js';
import { currentHolder, currentOwner, encodeHolder } from './holder.js';
import { claimLease } from './lease.js';
import { OVERLAY_NAME_MAX, containerName, labSelector, networkLabels, networkName, nodeLabels, overlayNetworkName, type RunLabels } from './naming.js';
import { STANDARD_STEPS, type StartStep } from './steps.js';
import { waitReady } from './readiness.js';
import { StartedLab, type StartedNetwork, type StartedNode } from './started-lab.js';
import { chooseSubnets } from './subnets.js';
import { ensureWatchdog } from './watchdog.js';

/** The resolver of a node on an internal network: one try of one second (glibc's default is 2 × 5 s). */
export const INTERNAL_DNS_OPTIONS = ['timeout:1', 'attempts:1'];

/** How often a network create is tried again after another process took the chosen subnet. */
/**
 * A VXLAN id for a new overlay network: random in 2^20…2^24−1 (above the ids a swarm hands out by
 * itself, from 4096 up, for a long time) and none of `existing`'s — the swarm does not refuse an
 * id in use.
 */
export function chooseVxlanId(existing: readonly NetworkInfo[], random: () => number): number {
  const taken = new Set(existing.map((n) => n.vxlanId));
  for (let attempt = 0; attempt < 64; attempt++) {
    const id = VXLAN_ID_MIN + Math.floor(random() * (VXLAN_ID_MAX - VXLAN_ID_MIN + 1));
    if (!taken.has(id)) return id;
  }
  // (Only a random source that repeats itself gets here.)
  for (let id = VXLAN_ID_MIN; ; id++) if (!taken.has(id)) return id;
}
export const VXLAN_ID_MIN = 2 ** 20;
export const VXLAN_ID_MAX = 2 ** 24 - 1;

const SUBNET_ATTEMPTS = 12;

export interface StartOptions {
  /**
   * The lab instance's name (compose's project name): containers, networks and labels use it, so
   * two instances of one topology never meet. Default: the topology's name.
   */
  name?: string;
  /** Who the lab belongs to; default ACKLAB_OWNER, else user@host. */
  owner?: string;
  /**
   * When a lab of this name is already up (detached) and is the owner's: remove it and start
   * again (true, the default) or refuse (false). A lab of another owner, or one held by a live
   * process (starting, an experiment run, a test), is never replaced.
   */
  replace?: boolean;
  /** The most nodes the lab may have (default 100): each is a container on a shared engine. */
  maxNodes?: number;
  /** Image refs; default: ensureImages() (built once, by content hash). */
  images?: ImageTags;
  /** Images of the topology's build contexts; default: built here (by content hash) before anything is created. */
  built?: BuiltImages;
  runtime?: Runtime;
  /** Aborting (Ctrl-C) stops the start and removes what was created. */
  signal?: AbortSignal;
  /** Where progress lines go ("creating networks", "node p1 ready"), now and for the lab's later actions; default: nowhere. `console` works. */
  logger?: Logger;
  /** Progress lines as a callback (the same lines as `logger.info`). */
  onProgress?: (line: string) => void;
  /** Overrides every node's readiness timeout. */
  readyTimeoutMs?: number;
  /** Over several engines: how long to wait for the overlay networks to carry traffic (default 60 s). */
  overlayTimeoutMs?: number;
  /** Steps once every node is ready; default STANDARD_STEPS (the topology's link conditions). */
  steps?: readonly StartStep[];
  /** Run id label; default random. */
  runId?: string;
  /** Where free subnets are looked for first, in [0, 1); default Math.random. */
  random?: () => number;
  /** Start this process's watchdog (default true; a fake runtime never gets one). */
  watchdog?: boolean;
  /** Opens the engines a topology names (`engines:`); default dockerRuntime. */
  openEngine?: OpenEngine;
}

export class Lab {
  private constructor(readonly topology: Topology) {}

  /** Reads and validates the file now (throws TopologyError), so `await Lab.fromFile(f).start()` chains. */
  static fromFile(file: string, options: LoadOptions = {}): Lab {
    return new Lab(loadTopologySync(file, options));
  }

  /** A lab from topology text (YAML); `file` names it in messages. Throws TopologyError. */
  static fromYaml(text: string, file = '<topology>'): Lab {
    return new Lab(parseTopology(text, file));
  }

  static fromTopology(topology: Topology): Lab {
    return new Lab(topology);
  }

  get name(): string {
    return this.topology.name;
  }

  async start(options: StartOptions = {}): Promise<StartedLab> {
    const t = this.topology;
    const name = options.name ?? t.name;
    const nameProblem = dnsNameProblem(name);
    if (nameProblem) throw new AcklabError(`lab name: ${nameProblem}`, 2);
    for (const [field, ms] of [['readyTimeoutMs', options.readyTimeoutMs], ['overlayTimeoutMs', options.overlayTimeoutMs]] as const) {
      if (ms !== undefined && !(Number.isFinite(ms) && ms > 0 && ms <= 2 ** 31 - 1)) throw new AcklabError(`start options: ${field} must be more than 0 and at most 2^31−1 milliseconds (got ${ms})`, 2);
    }
    const maxNodes = options.maxNodes ?? DEFAULT_MAX_NODES;
    if (t.nodes.length > maxNodes) {
      throw new AcklabError(`lab "${name}" has ${t.nodes.length} nodes; acklab starts at most ${maxNodes} nodes in one lab (maxNodes / --max-nodes raises it)`, 2);
    }
    // Over the topology's engines when it names some: containers go to their node's engine, networks
    // to its first engine, the lease to the engine acklab talks to; every list and removal covers them all.
    // Images are built where acklab talks to (`home`) and loaded onto the engines from there.
    const home = primaryOf(options.runtime ?? dockerRuntime());
    // (A topology without engines runs on that one engine, also when the caller's runtime spans several.)
    const runtime = t.engines ? runtimeForTopology(options.runtime ?? home, t, options.openEngine) : home;
    const members = engineMembers(runtime);
    const overlay = (t.engines?.length ?? 1) > 1;
    for (const n of overlay ? t.networks : []) {
      const swarmName = overlayNetworkName(name, n.name);
      if (swarmName.length > OVERLAY_NAME_MAX) {
        throw new AcklabError(`lab "${name}": the swarm network name "${swarmName}" is ${swarmName.length} characters, a swarm allows ${OVERLAY_NAME_MAX}; choose a shorter lab name (--name) or network name`, 2);
      }
    }
    const engines = engineAddresses(t, runtime);
    const run: RunLabels = {
      lab: name,
      runId: options.runId ?? randomBytes(6).toString('hex'),
      owner: options.owner ?? currentOwner(),
      holder: encodeHolder(currentHolder()),
      topology: t.name,
      ...(engines ? { engines } : {}),
    };
    const logger = options.logger ?? (options.onProgress ? lineLogger(options.onProgress) : silentLogger);
    const progress = (line: string) => logger.info(line);
    const { signal } = options;

    // Everything the topology needs is built before anything is created: a failed build creates nothing.
    const built = options.built ?? (await ensureTopologyImages(t, { runtime: home, log: (line) => progress(`images: ${line}`) }));
    let images = await this.images(home, options.images, progress);
    // Sidecars are made on their node's engine: over several engines the shaper image goes too.
    if (overlay && !images.shaper) images = await ensureImages({ runtime: home, log: (line) => progress(`images: ${line}`) });
    signal?.throwIfAborted();
    const imageOf = (node: TopologyNode): string => {
      if (node.image.type === 'acklab-node') return images.node;
      if (node.image.type === 'local') return node.image.ref;
      const image = built.get(buildKey(node.image));
      if (!image) throw new AcklabError(`node "${node.name}": image "${node.image.name}" (${node.image.origin}) was not built`);
      return image.tag;
    };
    // Any image the lab has will do for its lease: the lease never runs.
    const leaseImage = images.node || imageOf(t.nodes[0]!);
    // Before anything is created: if this process dies from here on, its watchdog removes the run
    // (from every engine of the lab).
    if (options.watchdog !== false) ensureWatchdog(runtime, run.holder, progress);

    try {
      await claimLease(runtime, run, { image: leaseImage, ...(options.replace === undefined ? {} : { replace: options.replace }), log: progress });
      signal?.throwIfAborted();
      // With the lease claimed (a swarm with a lab's lease on it is never unmade under it): the
      // engines' swarm, formed where asked, and the images every engine needs.
      if (overlay) await (t.swarm === 'form' ? formSwarm(runtime, t, progress) : checkSwarm(runtime, t));
      signal?.throwIfAborted();
      if (runtime !== home) {
        const refs = new Map(members.map((m) => [m.name, new Set<string>(images.shaper ? [images.shaper] : [])]));
        for (const node of t.nodes) refs.get(node.engine ?? members[0]!.name)?.add(imageOf(node));
        await shipImages(home, runtime, refs, (line) => progress(`images: ${line}`));
        signal?.throwIfAborted();
      }
      const networks = await this.createNetworks(runtime, run, options.random ?? Math.random, progress, overlay);
      signal?.throwIfAborted();
      const byNetwork = new Map(networks.map((n) => [n.name, n]));
      const internal = new Set(t.networks.filter((n) => n.internal).map((n) => n.name));
      const firstStage = new Set(t.stages[0] ?? []);
      progress(`creating ${t.nodes.length} containers; starting stage 1/${t.stages.length}: ${[...firstStage].join(', ')}`);
      const ids = new Map<string, string>();
      await settleAll(
        t.nodes.map(async (node) => {
          const first = byNetwork.get(node.networks[0]!)!;
          const id = await runtime.containers.create({
            name: containerName(name, node.name),
            image: imageOf(node),
            command: node.command,
            ...(node.entrypoint ? { entrypoint: node.entrypoint } : {}),
            env: node.env,
            hostname: node.name,
            labels: nodeLabels(run, node.name, node.kind, node.engine),
            network: { id: first.id, aliases: [node.name] },
            limits: node.limits,
            logs: { maxSize: `${Math.ceil(node.logs.maxBytes / 1024)}k`, maxFiles: node.logs.maxFiles },
            // On an internal network Docker's DNS never answers for a name it does not know (another
            // lab's, the outside world's, a node that is down): fail such a lookup in 1 s, not 10–20 s.
            ...(node.networks.some((n) => internal.has(n)) ? { dnsOptions: INTERNAL_DNS_OPTIONS } : {}),
          });
          ids.set(node.name, id);
          for (const extra of node.networks.slice(1)) await runtime.networks.connect(byNetwork.get(extra)!.id, id, [node.name]);
          // The first stage starts as soon as each container exists, like a `docker run` loop.
          if (firstStage.has(node.name) && !signal?.aborted) await runtime.containers.start(id);
        }),
      );
      const nodesByName = new Map(t.nodes.map((n) => [n.name, n]));
      for (const [i, stage] of t.stages.entries()) {
        signal?.throwIfAborted();
        if (i > 0) {
          progress(`starting stage ${i + 1}/${t.stages.length}: ${stage.join(', ')}`);
          await settleAll(stage.map((node) => runtime.containers.start(ids.get(node)!)));
        }
        await settleAll(
          stage.map((node) => {
            const spec = nodesByName.get(node)!;
            const ready = options.readyTimeoutMs === undefined ? spec.ready : { ...spec.ready, timeoutMs: options.readyTimeoutMs };
            return waitReady(runtime.containers, node, ids.get(node)!, ready, { signal });
          }),
        );
      }
      const started = await settleAll(t.nodes.map((node) => this.describe(runtime, node, ids.get(node.name)!, networks)));
      const settled = overlay
        ? await waitOverlaySettled(runtime, run, started, networks, { image: images.shaper, log: progress, ...(options.overlayTimeoutMs === undefined ? {} : { timeoutMs: options.overlayTimeoutMs }) })
        : undefined;
      const lab = new StartedLab(t, run, started, networks, runtime, images, leaseImage, logger);
      if (settled) lab.overlay = settled;
      for (const step of options.steps ?? STANDARD_STEPS) {
        signal?.throwIfAborted();
        progress(`running ${step.name}`);
        await step.run(lab, { ...(signal ? { signal } : {}), log: progress });
      }
      return lab;
    } catch (err) {
      progress(`removing lab "${name}" after ${signal?.aborted ? 'interrupt' : 'failure'}`);
      await removeByLabels(runtime, labSelector(name, run.runId)).catch((cleanupErr: unknown) => {
        progress(`cleanup failed too: ${errorMessage(cleanupErr)}`);
      });
      throw err;
    }
  }

  private async images(runtime: Runtime, given: ImageTags | undefined, progress: (line: string) => void): Promise<ImageTags> {
    for (const node of this.topology.nodes) {
      if (node.image.type === 'local' && !(await runtime.images.exists(node.image.ref))) {
        throw new AcklabError(
          `node "${node.name}": image "${node.image.ref}" is not on this Docker engine; build or load it first, or say build: DIR (acklab pulls nothing)`,
          2,
        );
      }
    }
    if (given) return given;
    if (!this.topology.nodes.some((n) => n.image.type === 'acklab-node')) return { node: '', shaper: '' };
    return ensureImages({ runtime, log: (line) => progress(`images: ${line}`) });
  }

  /**
   * One network at a time, each with a subnet chosen from a fresh list of the engine's networks
   * (this lab's earlier ones included) and read back from what the engine made. Another process
   * may create a network on the same subnet between the list and the create: the engine refuses
   * ("Pool overlaps"), and a picked subnet is chosen again.
   */
  private async createNetworks(runtime: Runtime, run: RunLabels, random: () => number, progress: (l: string) => void, overlay: boolean): Promise<StartedNetwork[]> {
    const created: StartedNetwork[] = [];
    for (const n of this.topology.networks) {
      for (let attempt = 1; ; attempt++) {
        const existing = await runtime.networks.list();
        const taken = existing.flatMap((x) => x.subnets.map((subnet) => ({ network: x.name, subnet })));
        let subnet: string;
        try {
          subnet = chooseSubnets([n], taken, random).get(n.name)!;
        } catch (err) {
          throw new AcklabError(`lab "${run.lab}": ${errorMessage(err)}`, 2, { cause: err });
        }
        try {
          const info = await runtime.networks.create({
            name: overlay ? overlayNetworkName(run.lab, n.name) : networkName(run.lab, n.name),
            subnet,
            labels: networkLabels(run, n.name),
            internal: n.internal,
            // Over several engines: a network of their swarm that plain containers may join, on a
            // VXLAN id of its own (see NetworkSpec.vxlanId).
            ...(overlay ? { driver: 'overlay' as const, attachable: true, vxlanId: chooseVxlanId(existing, random) } : {}),
          });
          created.push({ name: n.name, dockerName: info.name, id: info.id, subnet: info.subnets[0] ?? subnet });
          break;
        } catch (err) {
          if (!/overlap/i.test(errorMessage(err))) throw err;
          if (n.subnet !== undefined) {
            throw new AcklabError(`lab "${run.lab}": network "${n.name}": subnet ${n.subnet} was just taken by another Docker network; choose another subnet or omit it to let acklab pick one`, 1, { cause: err });
          }
          if (attempt >= SUBNET_ATTEMPTS) throw new AcklabError(`lab "${run.lab}": network "${n.name}": every subnet tried was taken by another network meanwhile (${attempt} attempts)`, 1, { cause: err });
        }
      }
    }
    progress(`networks${overlay ? ' (overlay)' : ''}: ${created.map((n) => `${n.name} ${n.subnet}${this.topology.networks.find((x) => x.name === n.name)?.internal ? ' (internal)' : ''}`).join(', ')}`);
    return created;
  }

  private async describe(runtime: Runtime, node: TopologyNode, id: string, networks: StartedNetwork[]): Promise<StartedNode> {
    const info = await runtime.containers.inspect(id);
    const addresses: Record<string, string> = {};
    for (const n of networks) {
      const ip = info.addresses[n.dockerName];
      if (ip !== undefined && node.networks.includes(n.name)) addresses[n.name] = ip;
    }
    return { name: node.name, kind: node.kind, containerId: id, containerName: info.name, addresses, spec: node, ...(node.engine === undefined ? {} : { engine: node.engine }) };
  }
}
