/**
 * Machine-readable events of the lab programs: NDJSON, one object per line,
 * `{"ts": <epoch ms>, "event": "<name>", ...}`. The experiment runner collects these from
 * containers, so every field is typed here and nowhere else.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export type ProgramName = 'acklab-echo' | 'acklab-peer' | 'acklab-mcast';

/** Events shared by the echo server and the peer (both roles). `peer` is the remote "ip:port". */
export type ConnectionEvent =
  | { event: 'listening'; program: ProgramName; host: string; port: number }
  | { event: 'connected'; peer: string; conn: number }
  | { event: 'disconnected'; peer: string; conn: number; reason: string; bytesIn: number; bytesOut: number }
  | { event: 'connect_failed'; target: string; attempt: number; error: string }
  | { event: 'protocol_error'; peer: string; conn: number; reason: string };

/** acklab-peer: one event per update / ack, numbered per connection (`seq` starts at 1). */
export type PeerEvent =
  | { event: 'greeting_received'; conn: number }
  | { event: 'update_sent'; conn: number; seq: number }
  | { event: 'update_received'; peer: string; conn: number; seq: number }
  | { event: 'ack_sent'; peer: string; conn: number; seq: number }
  | { event: 'ack_received'; conn: number; seq: number; rttMs: number }
  | { event: 'unmatched_ack'; conn: number };

/**
 * acklab-mcast: `peer`/`sender`/`from` are peer ids; `lamport` is the Lamport timestamp carried by
 * the message or ACK; `clock` is the logging peer's own Lamport clock right after a receive (optional:
 * other implementations of the contract may leave it out, and the report then derives it).
 * A send is logged before it is written to any socket and a receive as it is read, so on one host no
 * receive carries an earlier wall-clock time than its send.
 */
export type McastEvent =
  | { event: 'peer_connected'; peer: number; address: string; role: 'dialed' | 'accepted' }
  | { event: 'peer_lost'; peer: number; reason: string }
  /** A peer suspected after a silence spoke again (it was frozen or cut off, not dead). */
  | { event: 'peer_back'; peer: number; silentMs: number }
  | { event: 'peer_left'; peer: number }
  | { event: 'mesh_complete'; peers: number[] }
  | { event: 'mcast_sent'; lamport: number; seq: number }
  | { event: 'mcast_received'; lamport: number; sender: number; seq: number; clock?: number }
  /** This peer multicasts its ACK of (sender, seq), stamped `lamport` (optional event: without it the ACK's send is its `mcast_received`). */
  | { event: 'mcast_ack_sent'; sender: number; seq: number; lamport: number }
  | { event: 'mcast_ack'; from: number; sender: number; seq: number; lamport: number; clock?: number }
  | { event: 'delivered'; lamport: number; sender: number; seq: number; position: number }
  | { event: 'rejected_line'; peer: string; reason: string };

/** The final summary of any program (the same object as its last stdout line). */
export type SummaryEvent = { event: 'summary'; program: ProgramName; summary: Record<string, unknown> };

export type ProgramEvent = ConnectionEvent | PeerEvent | McastEvent | SummaryEvent;
export type EventName = ProgramEvent['event'];

export interface EventSink {
  emit(event: ProgramEvent): void;
  close(): void;
  /** True when events go to stdout (`--events -`); human lines then move to stderr. */
  readonly toStdout: boolean;
}

/**
 * Opens `--events FILE|-`. Writes are synchronous so that nothing is lost when the process exits
 * right after its summary (a few events per update is far below what a sync write costs).
 */
export function openEventSink(target: string | undefined, clock: () => number = Date.now, { append = false } = {}): EventSink {
  if (target === undefined) return { emit() {}, close() {}, toStdout: false };
  const toStdout = target === '-';
  let fd: number;
  try {
    // Append mode (O_APPEND) lets several worker processes share one file, a whole line per write.
    fd = toStdout ? 1 : openSync(target, append ? 'a' : 'w');
  } catch (err) {
    throw new Error(`cannot open events file ${target}: ${(err as Error).message}`, { cause: err });
  }
  let open = true;
  return {
    toStdout,
    emit(event) {
      if (!open) return;
      writeAll(fd, `${JSON.stringify({ ts: clock(), ...event })}\n`);
    },
    close() {
      if (!open) return;
      open = false;
      if (!toStdout) closeSync(fd);
    },
  };
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off);
    } catch (err) {
      // stdout may be a non-blocking pipe; retry on EAGAIN instead of dropping the event.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

/** Human-readable output: stdout, or stderr when stdout carries the NDJSON events. */
export interface HumanOutput {
  line(text: string): void;
}

export function humanOutput(events: EventSink): HumanOutput {
  const fd = events.toStdout ? 2 : 1;
  return { line: (text) => writeAll(fd, `${text}\n`) };
}
