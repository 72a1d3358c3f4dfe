/**
 * Opening a running lab for the controller: its nodes (found by label, so any acklab process can
 * act on a lab another one started, or given by whoever started it) with one sidecar per node,
 * made on demand.
 */
import { AcklabError } from '../common/index.js';
import { withThrowawayContainer, type Runtime } from '../runtime/index.js';
import { type ControllerOptions, ImpairController, type LabHandle } from './controller.js';
import { probeBackend } from './probe.js';
import { type LabNodeRef, Sidecars, findLabNodes, sidecarExecutor } from './sidecars.js';

export function labHandle(lab: string, refs: LabNodeRef[], sidecars: Sidecars): LabHandle {
  const handle: LabHandle = {
    lab,
    nodes: refs.map((r) => ({ name: r.name, addresses: r.addresses })),
    async agent(node, create) {
      const ref = refs.find((r) => r.name === node);
      if (!ref) throw new AcklabError(`unknown node "${node}"; the lab's nodes are: ${refs.map((r) => r.name).join(', ')}`);
      return sidecars.agent(ref, create);
    },
    close: () => sidecars.close(),
    async replaceNode(node, next) {
      const ref = refs.find((r) => r.name === node);
      if (!ref) throw new AcklabError(`unknown node "${node}"`);
      await sidecars.remove(node);
      ref.containerId = next.containerId;
      ref.addresses = next.addresses;
      const addressing = handle.nodes.find((n) => n.name === node);
      if (addressing) addressing.addresses = next.addresses;
    },
  };
  return handle;
}

export interface OpenOptions extends ControllerOptions {
  /** The shaper image, built or found only when a sidecar (or a dry run's probe container) is needed. */
  shaperImage: () => Promise<string>;
}

/** The controller of a running lab found by label. A dry run probes in a throwaway container, never in the lab. */
export async function openController(runtime: Runtime, lab: string, options: OpenOptions): Promise<ImpairController> {
  const refs = await findLabNodes(runtime.containers, lab);
  if (refs.length === 0) throw new AcklabError(`no running lab named "${lab}" (no running containers labelled as its nodes); start it with \`acklab up\``);
  return openControllerFor(runtime, lab, refs, options);
}

/** The controller of a lab whose nodes the caller has (a lab it just started). */
export function openControllerFor(runtime: Runtime, lab: string, refs: LabNodeRef[], options: OpenOptions): ImpairController {
  const sidecars = new Sidecars({ lab, containers: runtime.containers, shaperImage: options.shaperImage });
  return new ImpairController(labHandle(lab, refs, sidecars), {
    probeElsewhere: async () =>
      withThrowawayContainer(runtime, { image: await options.shaperImage(), capAdd: ['NET_ADMIN'] }, (id) => {
        const exec = sidecarExecutor('probe', id, runtime.containers);
        return probeBackend((argv) => exec.run(argv));
      }),
    ...options,
  });
}
