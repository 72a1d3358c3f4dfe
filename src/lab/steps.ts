/**
 * Steps run once every node of a lab is ready, before `start()` returns. A step gets the
 * StartedLab: each node's container and its IP per network. A failing step fails the start, which
 * then removes the lab. The standard step puts the topology's link conditions in force.
 */
import { applyLinks } from '../impair/index.js';
import type { StartedLab } from './started-lab.js';

export interface StartStep {
  name: string;
  run(lab: StartedLab, options: { signal?: AbortSignal; log: (line: string) => void }): Promise<void>;
}

/** The topology's `links`, through the impairment layer (a sidecar per impaired node). */
export const linkConditionsStep: StartStep = {
  name: 'link conditions',
  async run(lab, { log }) {
    if (lab.links.length === 0) return;
    const controller = lab.controller();
    try {
      await applyLinks(controller, lab.links, log);
    } finally {
      controller.close();
    }
  },
};

export const STANDARD_STEPS: readonly StartStep[] = [linkConditionsStep];
