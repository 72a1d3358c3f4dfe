/**
 * Topology links → egress conditions, applied once every node is up (an ON_STARTED step of the
 * lab) and removed with the lab (the sidecars carry the lab's labels; the rules live in the
 * nodes' namespaces, which go with the nodes).
 */
import type { StartedLab } from '../lab/started-lab.js';
import { Sidecars } from '../runtime/sidecar.js';
import type { TopologyLink } from '../topology/index.js';
import { ImpairController } from './controller.js';
import { labHandleFromRefs } from './lab-handle.js';
import { ConditionError, type EgressCondition, NO_IMPAIRMENT, checkImpairment, isNoop } from './model.js';

/** Every link with at least one condition, validated (all problems at once, naming where each link was written). */
export function linkConditions(links: readonly TopologyLink[]): EgressCondition[] {
  const problems: string[] = [];
  const out: EgressCondition[] = [];
  for (const l of links) {
    const c = l.conditions;
    const imp = {
      ...NO_IMPAIRMENT,
      delayMs: c.delayMs ?? 0,
      jitterMs: c.jitterMs ?? 0,
      lossPct: c.lossPercent ?? 0,
      ...(c.rateBitsPerSecond !== undefined ? { rateBps: c.rateBitsPerSecond } : {}),
    };
    if (isNoop(imp)) continue;
    try {
      out.push({ node: l.from, to: l.to, impairment: checkImpairment(imp, `${l.source} (${l.from} -> ${l.to})`) });
    } catch (err) {
      if (err instanceof ConditionError) problems.push(...err.problems);
      else throw err;
    }
  }
  if (problems.length > 0) throw new ConditionError(problems);
  return out;
}

export interface ApplyLinksOptions {
  shaperImage?: () => Promise<string>;
  log?: (line: string) => void;
}

/** Puts the topology's link conditions in force on a started lab; returns the backend used. */
export async function applyLinks(lab: StartedLab, options: ApplyLinksOptions = {}): Promise<string | undefined> {
  const conds = linkConditions(lab.links);
  if (conds.length === 0) return undefined;
  const shaperImage =
    options.shaperImage ??
    (async () => {
      const { ensureImages } = await import('../images/index.js');
      return (await ensureImages()).shaper;
    });
  const refs = lab.nodes.map((n) => ({ name: n.name, containerId: n.containerId, addresses: Object.values(n.addresses), runId: lab.runId }));
  const handle = labHandleFromRefs(lab.name, refs, new Sidecars({ lab: lab.name, shaperImage }));
  const ctl = new ImpairController(handle, { ...(options.log ? { log: options.log } : {}) });
  const backend = await ctl.backend();
  options.log?.(`link conditions on ${conds.length} direction(s), backend ${backend.backend} (${backend.reason})`);
  await ctl.impair(conds);
  return backend.backend;
}

/** The lab's ON_STARTED step. */
export const applyLinksStep = {
  name: 'link conditions (src/impair)',
  async run(lab: StartedLab): Promise<void> {
    await applyLinks(lab);
  },
};
