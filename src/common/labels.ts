/**
 * The one place where acklab's Docker labels are made. Everything acklab creates (networks,
 * containers, sidecars, images) carries these, so `down`, cleanup after a crash and the tests'
 * afterAll hooks can always find it by label, whatever happened to the process that made it.
 */

export const LABEL_PREFIX = 'dev.acklab';

export const LABELS = {
  /** Marks every acklab resource; value "true". */
  managed: `${LABEL_PREFIX}.managed`,
  /** The lab (topology) name. */
  lab: `${LABEL_PREFIX}.lab`,
  /** One `up` (or one experiment run); distinguishes a lab from its own leftovers. */
  runId: `${LABEL_PREFIX}.run-id`,
  /** The node name inside the lab. */
  node: `${LABEL_PREFIX}.node`,
  /** For nodes: the topology node kind (echo, peer-server, …), shown by `ps`. */
  kind: `${LABEL_PREFIX}.kind`,
  /** For networks: the topology network the Docker network implements. */
  network: `${LABEL_PREFIX}.network`,
  /** What the resource is: node, network, sidecar, probe, image, test. */
  role: `${LABEL_PREFIX}.role`,
  /** For images: the content hash of the build inputs. */
  contentHash: `${LABEL_PREFIX}.content-hash`,
  /** For test resources: the test session that made them. */
  session: `${LABEL_PREFIX}.session`,
  /** For sidecars: the node container whose network namespace the sidecar joined. */
  target: `${LABEL_PREFIX}.target`,
  /** Who the lab belongs to (ACKLAB_OWNER, default user@host): `ps` and `down` act on your own labs. */
  owner: `${LABEL_PREFIX}.owner`,
  /** The process holding the lab (host, pid, start time, namespace); its death reaps the lab unless detached. */
  holder: `${LABEL_PREFIX}.holder`,
  /** For the topology a lab instance was started from (the lab label is the instance name). */
  topology: `${LABEL_PREFIX}.topology`,
  /** On a lease: "true" once the lab outlives its holder (a finished `up`). */
  detached: `${LABEL_PREFIX}.detached`,
  /** For nodes and sidecars of a lab spread over several engines: the topology's name of the engine it runs on. */
  engine: `${LABEL_PREFIX}.engine`,
  /** On a lease of a lab spread over several engines: every engine (encodeEngines), so later verbs reach them all. */
  engines: `${LABEL_PREFIX}.engines`,
  /**
   * On a swarm acklab made for a lab (its spec; value "formed") and on each swarm node acklab made
   * or joined ("manager" / "worker"): only such a swarm, of only such nodes, is unmade again.
   */
  swarm: `${LABEL_PREFIX}.swarm`,
} as const;

export type ResourceRole = 'node' | 'network' | 'sidecar' | 'probe' | 'image' | 'test' | 'lease';

export interface LabelInput {
  role: ResourceRole;
  lab?: string;
  runId?: string;
  node?: string;
  kind?: string;
  network?: string;
  contentHash?: string;
  session?: string;
  target?: string;
  owner?: string;
  holder?: string;
  topology?: string;
  detached?: boolean;
  engine?: string;
  engines?: readonly EngineAddress[];
}

/** An engine of a lab: its name in the topology and its address (unix://, tcp://, https://, ssh://). */
export interface EngineAddress {
  name: string;
  address: string;
}

/** The engines label's value: `name=address` joined by spaces (neither holds one). */
export function encodeEngines(engines: readonly EngineAddress[]): string {
  return engines.map((e) => `${e.name}=${e.address}`).join(' ');
}

export function decodeEngines(value: string | undefined): EngineAddress[] {
  if (!value) return [];
  return value
    .split(' ')
    .map((part) => /^([^=\s]+)=(\S+)$/.exec(part))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, address: m[2]! }));
}

export function createLabels(input: LabelInput): Record<string, string> {
  const labels: Record<string, string> = { [LABELS.managed]: 'true', [LABELS.role]: input.role };
  if (input.lab !== undefined) labels[LABELS.lab] = input.lab;
  if (input.runId !== undefined) labels[LABELS.runId] = input.runId;
  if (input.node !== undefined) labels[LABELS.node] = input.node;
  if (input.kind !== undefined) labels[LABELS.kind] = input.kind;
  if (input.network !== undefined) labels[LABELS.network] = input.network;
  if (input.contentHash !== undefined) labels[LABELS.contentHash] = input.contentHash;
  if (input.session !== undefined) labels[LABELS.session] = input.session;
  if (input.target !== undefined) labels[LABELS.target] = input.target;
  if (input.owner !== undefined) labels[LABELS.owner] = input.owner;
  if (input.holder !== undefined) labels[LABELS.holder] = input.holder;
  if (input.topology !== undefined) labels[LABELS.topology] = input.topology;
  if (input.detached) labels[LABELS.detached] = 'true';
  if (input.engine !== undefined) labels[LABELS.engine] = input.engine;
  if (input.engines !== undefined && input.engines.length > 0) labels[LABELS.engines] = encodeEngines(input.engines);
  return labels;
}

/** A Docker API `filters.label` list selecting resources by the given labels. */
export function labelFilter(selector: Partial<Omit<LabelInput, 'role' | 'detached' | 'engines'>> & { role?: ResourceRole }): string[] {
  const filter = [`${LABELS.managed}=true`];
  if (selector.role !== undefined) filter.push(`${LABELS.role}=${selector.role}`);
  if (selector.lab !== undefined) filter.push(`${LABELS.lab}=${selector.lab}`);
  if (selector.runId !== undefined) filter.push(`${LABELS.runId}=${selector.runId}`);
  if (selector.node !== undefined) filter.push(`${LABELS.node}=${selector.node}`);
  if (selector.session !== undefined) filter.push(`${LABELS.session}=${selector.session}`);
  if (selector.owner !== undefined) filter.push(`${LABELS.owner}=${selector.owner}`);
  if (selector.holder !== undefined) filter.push(`${LABELS.holder}=${selector.holder}`);
  return filter;
}
