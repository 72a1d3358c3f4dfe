/**
 * A running lab as the controller sees it, found through Docker labels (any acklab process can
 * act on a lab another one started), with one sidecar per node made on demand.
 */
import { AcklabError } from '../common/index.js';
import { type LabNodeRef, Sidecars } from '../runtime/sidecar.js';
import type { LabHandle } from './controller.js';

export interface DockerLabHandle extends LabHandle {
  sidecars: Sidecars;
  refs: LabNodeRef[];
}

export async function dockerLabHandle(lab: string, shaperImage: () => Promise<string>): Promise<DockerLabHandle> {
  const sidecars = new Sidecars({ lab, shaperImage });
  const refs = await sidecars.nodes();
  if (refs.length === 0) throw new AcklabError(`no running lab named "${lab}" (no running containers labelled as its nodes); start it with \`acklab up\``);
  return labHandleFromRefs(lab, refs, sidecars);
}

export function labHandleFromRefs(lab: string, refs: LabNodeRef[], sidecars: Sidecars): DockerLabHandle {
  return {
    lab,
    sidecars,
    refs,
    nodes: refs.map((r) => ({ name: r.name, addresses: r.addresses })),
    async executor(node, create) {
      const ref = refs.find((r) => r.name === node);
      if (!ref) throw new AcklabError(`unknown node "${node}"; the lab's nodes are: ${refs.map((r) => r.name).join(', ')}`);
      return sidecars.executor(ref, create);
    },
  };
}
