/** Topology files: YAML → validated, resolved Topology. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { AcklabError } from '../common/index.js';
import { resolveTopology } from './resolve.js';
import { YamlSource } from './source.js';
import type { Topology } from './model.js';

export type * from './model.js';
export { TopologyError, formatIssue, type TopologyIssue } from './issues.js';
export { kindNames, getKind, registerKind, DEFAULT_PORTS, SEED_IMAGE, SEED_PORTS, IMPL_FILES, MESH_KINDS, type KindDefinition } from './kinds.js';
export { startStages, DependencyCycleError } from './order.js';
export { parseCidr, formatCidr, cidrsOverlap, intToIp, dnsNameProblem, type Ipv4Cidr } from './names.js';
export { IMPLICIT_NETWORK } from './resolve.js';
export { conditionFields } from './schema.js';

/** Parses and resolves topology text; `file` is used in messages. Throws TopologyError. */
export function parseTopology(text: string, file = '<topology>'): Topology {
  return resolveTopology(new YamlSource(file, text));
}

export async function loadTopology(file: string): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new AcklabError(`cannot read topology file ${file}: ${(err as Error).message}`, 2, { cause: err });
  }
  return parseTopology(text, file);
}

/** Synchronous loadTopology, so `Lab.fromFile(f).start()` chains without a second await. */
export function loadTopologySync(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AcklabError(`cannot read topology file ${file}: ${(err as Error).message}`, 2, { cause: err });
  }
  return parseTopology(text, file);
}
