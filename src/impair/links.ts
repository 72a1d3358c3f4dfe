/**
 * A topology's links as egress conditions, applied once every node of a lab is up, and removed
 * with the lab (the sidecars carry the lab's labels; the rules live in the nodes' namespaces,
 * which go with the nodes).
 */
import { type EgressCondition, isNoop } from '../conditions/index.js';
import type { TopologyLink } from '../topology/index.js';
import type { ImpairController } from './controller.js';
import type { BackendProbe } from './probe.js';

/** Every link with a condition (already validated when the topology was read). */
export function linkConditions(links: readonly TopologyLink[]): EgressCondition[] {
  return links.filter((l) => !isNoop(l.impairment)).map((l) => ({ node: l.from, to: l.to, impairment: l.impairment }));
}

/** Puts the links' conditions in force; returns the backend used (undefined when there were none). */
export async function applyLinks(controller: ImpairController, links: readonly TopologyLink[], log?: (line: string) => void): Promise<BackendProbe | undefined> {
  const conds = linkConditions(links);
  if (conds.length === 0) return undefined;
  const backend = await controller.backend(conds[0]!.node);
  log?.(`link conditions on ${conds.length} direction(s), backend ${backend.backend} (${backend.reason})`);
  await controller.impair(conds);
  return backend;
}
