/**
 * Who a lab belongs to, and which process holds it.
 *
 * - The owner (ACKLAB_OWNER, default user@host) is a label on everything a lab has: `ps` and
 *   `down` act on your own labs unless told to widen.
 * - The holder is the process that started the lab: host, pid, the process's start time (so a
 *   reused pid is not mistaken for it) and the boot and pid namespace it lives in (so a pid is only
 *   judged where it means something). A lab whose holder died before the lab was detached (a
 *   finished `up`) is garbage: the holder's watchdog, or the next acklab command on the same host,
 *   removes it.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

export const OWNER_ENV = 'ACKLAB_OWNER';

/** The owner recorded on labs this process makes: ACKLAB_OWNER, else user@host. */
export function currentOwner(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[OWNER_ENV]?.trim();
  if (given) return given;
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    // A container user without a passwd entry.
    user = `uid${process.getuid?.() ?? 'unknown'}`;
  }
  return `${user}@${os.hostname()}`;
}

export interface Holder {
  host: string;
  pid: number;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22); "-" where unknown. */
  start: string;
  /** Boot id and pid-namespace inode: pids are comparable only within the same pair; "-" where unknown. */
  ns: string;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
function startTicks(pid: number): string | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); a zombie has exited already.
  if (fields[0] === 'Z') return undefined;
  return fields[19];
}

let namespace: string | undefined;
function currentNamespace(): string {
  if (namespace !== undefined) return namespace;
  const boot = readText('/proc/sys/kernel/random/boot_id')?.trim();
  let pidNs: string | undefined;
  try {
    pidNs = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
  } catch {
    pidNs = undefined;
  }
  namespace = boot && pidNs ? `${boot}/${pidNs}` : '-';
  return namespace;
}

let self: Holder | undefined;
/** This process as a holder. */
export function currentHolder(): Holder {
  self ??= { host: os.hostname(), pid: process.pid, start: startTicks(process.pid) ?? '-', ns: currentNamespace() };
  return self;
}

/** The label value: `host:pid:start:ns` (host names hold no ":"). */
export function encodeHolder(h: Holder): string {
  return `${h.host}:${h.pid}:${h.start}:${h.ns}`;
}

export function decodeHolder(value: string | undefined): Holder | undefined {
  const m = value === undefined ? null : /^([^:]*):(\d+):([^:]+):([^:]+)$/.exec(value);
  if (!m) return undefined;
  return { host: m[1]!, pid: Number(m[2]), start: m[3]!, ns: m[4]! };
}

export type HolderState = 'alive' | 'dead' | 'unknown';

/**
 * Whether the holder still runs. 'unknown' when it lives on another host, boot or pid namespace:
 * only its own watchdog, or a command run where it lived, can tell.
 */
export function holderState(h: Holder | undefined): HolderState {
  if (!h) return 'unknown';
  const me = currentHolder();
  if (h.host !== me.host || h.ns !== me.ns) return 'unknown';
  if (h.pid === me.pid) return h.start === me.start ? 'alive' : 'dead';
  if (h.start !== '-') {
    const now = startTicks(h.pid);
    return now !== undefined && now === h.start ? 'alive' : 'dead';
  }
  try {
    process.kill(h.pid, 0);
    return 'alive';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}

/** "pid 123 on host" for messages. */
export function describeHolder(h: Holder | undefined): string {
  return h ? `pid ${h.pid} on ${h.host}` : 'an unknown process';
}
