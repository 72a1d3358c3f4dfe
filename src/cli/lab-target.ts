/**
 * How every verb names a lab and its nodes: `acklab VERB LAB [NODE] …`, LAB first, always a lab
 * name (what `up` printed, the topology's `name:`). A lab that is not running, a node it does not
 * have and a node that has exited are each named as such (exit 1): they depend on the engine's
 * state, not on how the command was written.
 */
import { AcklabError } from '../common/index.js';
import type { RunningNode } from '../lab/index.js';
import type { Runtime } from '../runtime/index.js';
import { engineRuntime } from './engine.js';
import { loadLabCatalog } from './load.js';

export interface LabTarget {
  lab: string;
  runtime: Runtime;
  /** Every node container of the lab, running or not. */
  nodes: RunningNode[];
}

export async function openLab(lab: string, given?: Runtime): Promise<LabTarget> {
  const runtime = given ?? (await engineRuntime());
  const { listNodes } = await loadLabCatalog();
  const nodes = await listNodes(runtime, lab);
  if (nodes.length === 0) {
    const others = [...new Set((await listNodes(runtime)).map((n) => n.lab))];
    throw new AcklabError(
      `no lab named "${lab}" is running; ${others.length > 0 ? `running labs: ${others.join(', ')}` : 'start one with `acklab up FILE`'}`,
    );
  }
  return { lab, runtime, nodes };
}

export function describeNodes(nodes: readonly RunningNode[]): string {
  return nodes.map((n) => (n.state === 'running' ? n.name : `${n.name} (${n.state})`)).join(', ');
}

export function nodeOf(target: LabTarget, node: string): RunningNode {
  const n = target.nodes.find((x) => x.name === node);
  if (!n) throw new AcklabError(`lab "${target.lab}" has no node "${node}"; its nodes: ${describeNodes(target.nodes)}`);
  return n;
}

/**
 * Refuses when a node is not running, saying what it is instead (`exited (0)`, `paused`) and how to
 * go on. `allowPaused`: a paused node's network namespace is still there (impair, partition).
 */
export function requireRunning(target: LabTarget, nodes: readonly string[], verb: string, { allowPaused = false } = {}): RunningNode[] {
  const found = nodes.map((n) => nodeOf(target, n));
  const down = found.filter((n) => !(n.state === 'running' || (allowPaused && n.state === 'paused')));
  if (down.length > 0) {
    const n = down[0]!;
    const hint = n.state === 'paused' ? `acklab resume ${target.lab} ${n.name}` : `acklab start ${target.lab} ${n.name}`;
    const extra = verb === 'exec' ? `; its files: acklab cp ${target.lab} ${n.name}:PATH DEST` : '';
    throw new AcklabError(
      `${down.map((d) => `node "${d.name}" of lab "${target.lab}" is ${d.state}`).join('; ')}: ${verb} needs it running (\`${hint}\` runs it again${extra})`,
    );
  }
  return found;
}
