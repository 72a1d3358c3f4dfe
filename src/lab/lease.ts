/**
 * A lab's lease: a container that is created and never started, named `acklab-<lab>`. The engine
 * gives a container name to one create only, so the lease is the lab name's lock: two starts of
 * the same lab name never both proceed, and the loser learns who holds it from the lease's labels
 * (owner, holder process, run id). Labels cannot change after create, so a finished `up` marks its
 * lab as detached with a second, equally inert container (`acklab-<lab>_detached`).
 */
import { AcklabError, LABELS, labelFilter } from '../common/index.js';
import { NameConflictError, type ContainerInfo, type Runtime } from '../runtime/index.js';
import { removeByLabels } from './cleanup.js';
import { decodeHolder, describeHolder, holderState, type Holder } from './holder.js';
import { detachedName, labSelector, leaseLabels, leaseName, type RunLabels } from './naming.js';

/** What the leases of a lab say about its current run. */
export interface LabLease {
  lab: string;
  runId: string;
  owner: string;
  holder: Holder | undefined;
  topology: string;
  /** The lab outlives its holder (a finished `up`). */
  detached: boolean;
}

/** Thrown when a lab name is taken by a run that may not be replaced. */
export class LabBusyError extends AcklabError {
  constructor(
    message: string,
    readonly lease: LabLease | undefined,
  ) {
    super(message, 1);
    this.name = 'LabBusyError';
  }
}

/** Leases per lab (one list call), for `ps`, `down` and the reaper. */
export function leasesOf(containers: ContainerInfo[]): Map<string, LabLease> {
  const out = new Map<string, LabLease>();
  for (const c of containers) {
    if (c.labels[LABELS.role] !== 'lease') continue;
    const lab = c.labels[LABELS.lab];
    if (lab === undefined) continue;
    const known = out.get(lab);
    const detached = c.labels[LABELS.detached] === 'true';
    if (known) {
      known.detached ||= detached;
      continue;
    }
    out.set(lab, {
      lab,
      runId: c.labels[LABELS.runId] ?? '',
      owner: c.labels[LABELS.owner] ?? '',
      holder: decodeHolder(c.labels[LABELS.holder]),
      topology: c.labels[LABELS.topology] ?? lab,
      detached,
    });
  }
  return out;
}

export async function readLease(runtime: Runtime, lab: string): Promise<LabLease | undefined> {
  return leasesOf(await runtime.containers.list(labelFilter({ lab, role: 'lease' }))).get(lab);
}

export interface ClaimOptions {
  /** The image the lease container is created from (any local image: it never runs). */
  image: string;
  /** Replace a detached run of the same lab and owner (`up` twice); default true. */
  replace?: boolean;
  log?: (line: string) => void;
}

/** How often a name conflict with no lease behind it is looked at again (about 2 s in all). */
const LEASE_LOOKS = 8;

/**
 * Claims the lab name for `run`. An existing run of the lab is removed first when it is garbage
 * (its holder died before it was detached) or when it is the owner's own detached lab and
 * `replace` allows; otherwise LabBusyError says who has it.
 */
export async function claimLease(runtime: Runtime, run: RunLabels, options: ClaimOptions): Promise<void> {
  const log = options.log ?? (() => {});
  for (let attempt = 1; ; attempt++) {
    try {
      await createLease(runtime, leaseName(run.lab), run, options.image, false);
      return;
    } catch (err) {
      if (!(err instanceof NameConflictError)) throw err;
    }
    const lease = await readLease(runtime, run.lab);
    if (!lease) {
      // Removed meanwhile, still being created by another process (the engine reserves the name
      // before the container shows in a list), or a container of that name that is not a lease.
      if (attempt >= LEASE_LOOKS) {
        throw new LabBusyError(`a container named "${leaseName(run.lab)}" exists and is not an acklab lease; remove it, or choose another lab name (--name)`, undefined);
      }
      await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** attempt, 400)));
      continue;
    }
    if (lease.owner !== run.owner) {
      throw new LabBusyError(`lab "${run.lab}" is already running and belongs to ${lease.owner || 'another owner'} (you are ${run.owner}); choose another lab name with --name`, lease);
    }
    const state = holderState(lease.holder);
    if (!lease.detached && state !== 'dead') {
      // A holder elsewhere (another host or container) cannot be checked from here; its owner can still remove the lab.
      const elsewhere = state === 'unknown' ? `; if that process is gone, \`acklab down ${run.lab}\` removes the lab` : '';
      throw new LabBusyError(
        `lab "${run.lab}" is in use by acklab ${describeHolder(lease.holder)} (an \`up\` still starting, an experiment run or a test); wait for it, or choose another lab name with --name${elsewhere}`,
        lease,
      );
    }
    if (lease.detached && options.replace === false) {
      throw new LabBusyError(`lab "${run.lab}" is already up (run ${lease.runId}); \`acklab down ${run.lab}\` first, or choose another lab name with --name`, lease);
    }
    // Only that run: a concurrent start that won the name meanwhile keeps what it made.
    const removed = await removeByLabels(runtime, labSelector(run.lab, lease.runId));
    log(
      lease.detached
        ? `replaced the running lab "${run.lab}" (run ${lease.runId}: ${removed.containers} containers, ${removed.networks} networks)`
        : `removed the leftovers of lab "${run.lab}" (its acklab ${describeHolder(lease.holder)} died: ${removed.containers} containers, ${removed.networks} networks)`,
    );
    if (attempt >= 5) throw new LabBusyError(`lab "${run.lab}" is being started by other acklab processes at the same time; try again`, lease);
  }
}

/** Marks the run as outliving its holder: the holder's death no longer removes it. */
export async function markDetached(runtime: Runtime, run: RunLabels, image: string): Promise<void> {
  try {
    await createLease(runtime, detachedName(run.lab), run, image, true);
  } catch (err) {
    if (!(err instanceof NameConflictError)) throw err;
    // A stale mark of an earlier run (removed with it normally): replace it with ours.
    const marks = await runtime.containers.list([...labelFilter({ lab: run.lab, role: 'lease' }), `${LABELS.detached}=true`]);
    if (marks.some((c) => c.labels[LABELS.runId] === run.runId)) return;
    for (const c of marks) await runtime.containers.remove(c.id);
    await createLease(runtime, detachedName(run.lab), run, image, true);
  }
}

async function createLease(runtime: Runtime, name: string, run: RunLabels, image: string, detached: boolean): Promise<void> {
  await runtime.containers.create({
    name,
    image,
    // Never started: the lease is its name and labels.
    command: ['acklab-lease'],
    labels: leaseLabels(run, detached),
    networkMode: 'none',
    init: false,
  });
}
