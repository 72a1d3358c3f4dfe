/**
 * Steps run once every node of a lab is ready, before `up` returns — the place where link
 * conditions (topology.links, applied by src/impair through a sidecar) hook in. A step gets the
 * StartedLab: each node's containerId and its IP per network. A failing step fails `up`, which
 * then removes the lab.
 *
 * To add a step: import it here and append it to ON_STARTED (one line each).
 */
import { applyLinksStep } from '../impair/links.js';
import type { StartedLab } from './started-lab.js';

export type OnStartedStep = {
  name: string;
  run(lab: StartedLab, options: { signal?: AbortSignal }): Promise<void>;
};

export const ON_STARTED: OnStartedStep[] = [applyLinksStep];
