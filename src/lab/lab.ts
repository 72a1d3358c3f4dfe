/**
 * Lab → StartedLab (testcontainers' lifecycle-as-types). `start()` removes any earlier run of the
 * same lab (so `up` twice replaces it, and a SIGKILLed `up` leaves nothing behind for long),
 * creates the networks and containers, starts the nodes stage by stage in parallel, waits for
 * each to be ready, then runs the start steps (steps.ts). Any failure or abort removes this run.
 */
import { randomBytes } from 'node:crypto';
import { AcklabError, errorMessage, lineLogger, silentLogger, type Logger } from '../common/index.js';
import { buildKey, ensureImages, ensureTopologyImages, type BuiltImages, type ImageTags } from '../images/index.js';
import { dockerRuntime, type Runtime } from '../runtime/index.js';
import { loadTopologySync, parseTopology, type Topology, type TopologyNode } from '../topology/index.js';
import { removeByLabels, settleAll } from './cleanup.js';
import { containerName, labSelector, networkLabels, networkName, nodeLabels } from './naming.js';
import { STANDARD_STEPS, type StartStep } from './steps.js';
import { waitReady } from './readiness.js';
import { StartedLab, type StartedNetwork, type StartedNode } from './started-lab.js';
import { chooseSubnets } from './subnets.js';

export interface StartOptions {
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
  /** Steps once every node is ready; default STANDARD_STEPS (the topology's link conditions). */
  steps?: readonly StartStep[];
  /** Run id label; default random. */
  runId?: string;
}

export class Lab {
  private constructor(readonly topology: Topology) {}

  /** Reads and validates the file now (throws TopologyError), so `await Lab.fromFile(f).start()` chains. */
  static fromFile(file: string): Lab {
    return new Lab(loadTopologySync(file));
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
    const runtime = options.runtime ?? dockerRuntime();
    const runId = options.runId ?? randomBytes(6).toString('hex');
    const logger = options.logger ?? (options.onProgress ? lineLogger(options.onProgress) : silentLogger);
    const progress = (line: string) => logger.info(line);
    const { signal } = options;
    const t = this.topology;

    // Everything the topology needs is built before anything is created: a failed build creates nothing.
    const built = options.built ?? (await ensureTopologyImages(t, { runtime, log: (line) => progress(`images: ${line}`) }));
    const images = await this.images(runtime, options.images, progress);
    signal?.throwIfAborted();
    const imageOf = (node: TopologyNode): string => {
      if (node.image.type === 'acklab-node') return images.node;
      if (node.image.type === 'local') return node.image.ref;
      const image = built.get(buildKey(node.image));
      if (!image) throw new AcklabError(`node "${node.name}": image "${node.image.name}" (${node.image.origin}) was not built`);
      return image.tag;
    };

    // A previous run of this lab (still up, or left behind by a killed `up`) goes first.
    const old = await removeByLabels(runtime, labSelector(t.name));
    if (old.containers + old.networks > 0) progress(`removed the previous run of "${t.name}" (${old.containers} containers, ${old.networks} networks)`);

    try {
      signal?.throwIfAborted();
      const networks = await this.createNetworks(runtime, runId, progress);
      signal?.throwIfAborted();
      const byNetwork = new Map(networks.map((n) => [n.name, n]));
      const firstStage = new Set(t.stages[0] ?? []);
      progress(`creating ${t.nodes.length} containers; starting stage 1/${t.stages.length}: ${[...firstStage].join(', ')}`);
      const ids = new Map<string, string>();
      await settleAll(
        t.nodes.map(async (node) => {
          const first = byNetwork.get(node.networks[0]!)!;
          const id = await runtime.containers.create({
            name: containerName(t.name, node.name),
            image: imageOf(node),
            command: node.command,
            ...(node.entrypoint ? { entrypoint: node.entrypoint } : {}),
            env: node.env,
            hostname: node.name,
            labels: nodeLabels(t.name, runId, node.name, node.kind),
            network: { id: first.id, aliases: [node.name] },
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
          await settleAll(stage.map((name) => runtime.containers.start(ids.get(name)!)));
        }
        await settleAll(
          stage.map((name) => {
            const node = nodesByName.get(name)!;
            const ready = options.readyTimeoutMs === undefined ? node.ready : { ...node.ready, timeoutMs: options.readyTimeoutMs };
            return waitReady(runtime.containers, name, ids.get(name)!, ready, { signal });
          }),
        );
      }
      const started = await settleAll(t.nodes.map((node) => this.describe(runtime, node, ids.get(node.name)!, networks)));
      const lab = new StartedLab(t, runId, started, networks, runtime, images, logger);
      for (const step of options.steps ?? STANDARD_STEPS) {
        signal?.throwIfAborted();
        progress(`running ${step.name}`);
        await step.run(lab, { ...(signal ? { signal } : {}), log: progress });
      }
      return lab;
    } catch (err) {
      progress(`removing lab "${t.name}" after ${signal?.aborted ? 'interrupt' : 'failure'}`);
      await removeByLabels(runtime, labSelector(t.name, runId)).catch((cleanupErr: unknown) => {
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

  private async createNetworks(runtime: Runtime, runId: string, progress: (l: string) => void): Promise<StartedNetwork[]> {
    const t = this.topology;
    // Another lab may grab the same free subnet between our list and create: choose again.
    for (let attempt = 1; ; attempt++) {
      const existing = await runtime.networks.list();
      const taken = existing.flatMap((n) => n.subnets.map((subnet) => ({ network: n.name, subnet })));
      let subnets: Map<string, string>;
      try {
        subnets = chooseSubnets(t.networks, taken);
      } catch (err) {
        throw new AcklabError(`lab "${t.name}": ${errorMessage(err)}`, 2, { cause: err });
      }
      progress(`creating networks: ${t.networks.map((n) => `${n.name} ${subnets.get(n.name)}`).join(', ')}`);
      try {
        return await settleAll(
          t.networks.map(async (n) => {
            const subnet = subnets.get(n.name)!;
            const info = await runtime.networks.create({ name: networkName(t.name, n.name), subnet, labels: networkLabels(t.name, runId, n.name) });
            return { name: n.name, dockerName: info.name, id: info.id, subnet };
          }),
        );
      } catch (err) {
        if (attempt >= 5 || !/overlap/i.test(errorMessage(err))) throw err;
        await removeByLabels(runtime, labSelector(t.name, runId));
      }
    }
  }

  private async describe(runtime: Runtime, node: TopologyNode, id: string, networks: StartedNetwork[]): Promise<StartedNode> {
    const info = await runtime.containers.inspect(id);
    const addresses: Record<string, string> = {};
    for (const n of networks) {
      const ip = info.addresses[n.dockerName];
      if (ip !== undefined && node.networks.includes(n.name)) addresses[n.name] = ip;
    }
    return { name: node.name, kind: node.kind, containerId: id, containerName: info.name, addresses, spec: node };
  }
}
