/**
 * Reaping: removing the runs whose holder process died before the run was detached — an `up`
 * killed mid-start, an `acklab run` or a test process killed outright (SIGKILL, a second Ctrl-C).
 * Two list calls (containers and networks carrying a holder label) find every candidate; runs are
 * told apart by (lab, run id), and a run is kept when a detached mark or a live holder says so.
 * The holder's own watchdog (watchdog.ts) calls this the moment its process is gone; every acklab
 * command that talks to the engine calls it first as well, for the holders it can judge.
 */
import { LABELS, errorMessage } from '../common/index.js';
import type { ContainerInfo, NetworkInfo, Runtime } from '../runtime/index.js';
import { settleAll } from './cleanup.js';
import { decodeHolder, holderState, type Holder } from './holder.js';

export interface ReapedRun {
  lab: string;
  runId: string;
  holder: Holder | undefined;
  containers: number;
  networks: number;
}

export interface ReapOptions {
  /** Whether the run's holder (its label value) is gone; default: judged from /proc (holderState). */
  isDead?: (holder: string) => boolean;
  /** A line per reaped run. */
  log?: (line: string) => void;
}

interface RunGroup {
  lab: string;
  runId: string;
  holder: string;
  detached: boolean;
  containers: ContainerInfo[];
  networks: NetworkInfo[];
}

const defaultIsDead = (holder: string) => holderState(decodeHolder(holder)) === 'dead';

/** Removes every run whose holder is dead and that was not detached; returns what went. */
export async function reapOrphans(runtime: Runtime, options: ReapOptions = {}): Promise<ReapedRun[]> {
  const isDead = options.isDead ?? defaultIsDead;
  const filter = [`${LABELS.managed}=true`, LABELS.holder];
  const [containers, networks] = await Promise.all([runtime.containers.list(filter), runtime.networks.list(filter)]);
  const groups = new Map<string, RunGroup>();
  const groupOf = (labels: Record<string, string>): RunGroup => {
    const lab = labels[LABELS.lab] ?? '';
    const runId = labels[LABELS.runId] ?? '';
    const holder = labels[LABELS.holder]!;
    const key = `${lab}\n${runId}\n${holder}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { lab, runId, holder, detached: false, containers: [], networks: [] }));
    return g;
  };
  for (const c of containers) {
    const g = groupOf(c.labels);
    g.containers.push(c);
    if (c.labels[LABELS.role] === 'lease' && c.labels[LABELS.detached] === 'true') g.detached = true;
  }
  for (const n of networks) groupOf(n.labels).networks.push(n);

  const reaped: ReapedRun[] = [];
  for (const g of groups.values()) {
    if (g.detached || !isDead(g.holder)) continue;
    // Containers first (a network with endpoints cannot go); a failure leaves the rest for the next pass.
    await settleAll(g.containers.map((c) => runtime.containers.remove(c.id))).catch(() => undefined);
    await settleAll(g.networks.map((n) => runtime.networks.remove(n.id))).catch((err: unknown) => {
      options.log?.(`could not remove a network of lab "${g.lab}": ${errorMessage(err)}`);
    });
    const run: ReapedRun = { lab: g.lab, runId: g.runId, holder: decodeHolder(g.holder), containers: g.containers.length, networks: g.networks.length };
    reaped.push(run);
    options.log?.(
      `removed ${g.lab ? `lab "${g.lab}"` : 'test resources'}${g.runId ? ` (run ${g.runId})` : ''}: ${run.containers} containers, ${run.networks} networks — the acklab process that held it (pid ${run.holder?.pid ?? '?'}) is gone`,
    );
  }
  return reaped;
}
