/** Topology files: YAML → validated, resolved Topology. */
import { resolveTopology, type ResolveOptions } from './resolve.js';
import { YamlSource } from './source.js';
import { InputFileError, readInputFileSync } from './input-file.js';
import { TopologyError } from './issues.js';
import type { Topology } from './model.js';

export type * from './model.js';
export { TopologyError, formatIssue, type TopologyIssue, type FieldPath } from './issues.js';
export { kindNames, getKind, registerKind, DEFAULT_PORTS, SEED_IMAGE, SEED_PORTS, IMPL_FILES, MESH_KINDS, type KindDefinition } from './kinds.js';
export { startStages, DependencyCycleError } from './order.js';
export { parseCidr, formatCidr, cidrsOverlap, intToIp, dnsNameProblem, imageRefProblem, engineAddressProblem, advertiseAddressProblem, ENGINE_SCHEMES, LOCAL_ENGINE, type Ipv4Cidr } from './names.js';
export {
  IMPLICIT_NETWORK,
  DEFAULT_MAX_NODES,
  DEFAULT_LIMITS,
  DEFAULT_LOGS,
  AUTO_SUBNET_PREFIX,
  subnetCapacity,
  type ResolveOptions,
} from './resolve.js';
export { conditionFields } from './schema.js';
export { YamlSource, MAX_YAML_VALUES } from './source.js';
export { readInputFileSync, maxFileBytes, InputFileError, DEFAULT_MAX_FILE_BYTES, MAX_FILE_SIZE_ENV } from './input-file.js';
export { envNameProblem, INTERVAL_RANGE, POSITIVE, MAX_COUNT } from './fields.js';

export interface LoadOptions extends ResolveOptions {
  /** The largest file read (default: ACKLAB_MAX_FILE_SIZE, else 1 MiB). */
  maxBytes?: number;
}

/** Parses and resolves topology text; `file` is used in messages. Throws TopologyError. */
export function parseTopology(text: string, file = '<topology>', options: ResolveOptions = {}): Topology {
  return resolveTopology(new YamlSource(file, text), options);
}

export async function loadTopology(file: string, options: LoadOptions = {}): Promise<Topology> {
  return loadTopologySync(file, options);
}

/**
 * Reads (bounded: a regular file of at most maxBytes, checked before parsing) and resolves a
 * topology file; synchronous, so `Lab.fromFile(f).start()` chains without a second await.
 */
export function loadTopologySync(file: string, options: LoadOptions = {}): Topology {
  let text: string;
  try {
    text = readInputFileSync(file, options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes });
  } catch (err) {
    if (err instanceof InputFileError) throw new TopologyError([err.issue], { cause: err });
    throw err;
  }
  return parseTopology(text, file, options);
}
