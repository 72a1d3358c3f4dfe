/**
 * Process faults on one node — kill, stop, start, restart, pause, resume — on its container, for
 * `StartedLab` and the CLI verbs alike. Each is idempotent where that has a meaning (stopping a
 * stopped node, resuming a running one) and refuses what the container cannot do, naming the state.
 */
import { AcklabError } from '../common/index.js';
import type { ContainerClient } from '../runtime/index.js';

export const NODE_ACTIONS = ['kill', 'stop', 'start', 'restart', 'pause', 'resume'] as const;
export type NodeAction = (typeof NODE_ACTIONS)[number];

/** What each action does, for help texts and the README. */
export const NODE_ACTION_HELP: Readonly<Record<NodeAction, string>> = {
  kill: 'SIGKILL the node (or --signal NAME); it stays exited until started',
  stop: 'SIGTERM, then SIGKILL after the grace period (default 10s)',
  start: 'start an exited node again (same container, same files)',
  restart: 'stop, then start',
  pause: 'freeze every process of the node (cgroup freezer); its peers see silence',
  resume: 'thaw a paused node',
};

/** How long `stop` waits after SIGTERM before SIGKILL. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

export interface NodeActionOptions {
  /** kill: the signal (default SIGKILL). */
  signal?: string;
  /** stop, restart: grace before SIGKILL (default 10 s). */
  graceMs?: number;
}

export interface NodeTarget {
  lab: string;
  node: string;
  containerId: string;
}

/**
 * Runs `action` on the node's container. Returns whether the node was (re)started: its new network
 * namespace then needs its conditions handed over (ImpairController.nodeRestarted).
 */
export async function runNodeAction(containers: ContainerClient, target: NodeTarget, action: NodeAction, options: NodeActionOptions = {}): Promise<{ started: boolean }> {
  const info = await containers.inspect(target.containerId);
  const where = `node "${target.node}" of lab "${target.lab}"`;
  const state = info.state === 'exited' ? `exited (exit code ${info.exitCode})` : info.state;
  switch (action) {
    case 'kill':
      if (!info.running) throw new AcklabError(`${where} is ${state}; kill needs it running`);
      // A frozen process cannot take a signal: thaw first, as `docker kill` of a paused container would not.
      if (info.paused) await containers.unpause(target.containerId);
      await containers.kill(target.containerId, options.signal ?? 'SIGKILL');
      return { started: false };
    case 'stop':
      if (info.paused) await containers.unpause(target.containerId);
      await containers.stop(target.containerId, options.graceMs ?? DEFAULT_STOP_GRACE_MS);
      return { started: false };
    case 'start':
      if (info.paused) throw new AcklabError(`${where} is paused; resume it instead`);
      if (info.running) return { started: false };
      await containers.start(target.containerId);
      return { started: true };
    case 'restart':
      if (info.paused) await containers.unpause(target.containerId);
      await containers.stop(target.containerId, options.graceMs ?? DEFAULT_STOP_GRACE_MS);
      await containers.start(target.containerId);
      return { started: true };
    case 'pause':
      if (!info.running) throw new AcklabError(`${where} is ${state}; pause needs it running`);
      if (!info.paused) await containers.pause(target.containerId);
      return { started: false };
    case 'resume':
      if (!info.running) throw new AcklabError(`${where} is ${state}; resume needs a paused node (start it instead)`);
      if (info.paused) await containers.unpause(target.containerId);
      return { started: false };
  }
}
