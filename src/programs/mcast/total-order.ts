/**
 * Lamport clock and the totally-ordered multicast queue (the textbook algorithm, e.g. Tanenbaum &
 * van Steen §6.2 / Coulouris ch. 15), as pure classes so the rules are unit-tested without sockets.
 *
 * Rule: a message is delivered when it is at the head of the queue ordered by (timestamp, sender id)
 * AND every peer other than its sender has acknowledged it. Why that is safe: links are FIFO (TCP),
 * and a peer's ack of m carries a Lamport timestamp larger than m's, so by the time we hold every
 * peer's ack we have already received every message any peer sent with a smaller (ts, id) — nothing
 * can still arrive and belong in front of m. (The sender's own earlier messages precede m on its link.)
 */

export class LamportClock {
  constructor(private time = 0) {}

  get value(): number {
    return this.time;
  }

  /** A local or send event: advance and return the timestamp to stamp on the message. */
  tick(): number {
    return ++this.time;
  }

  /** A receive event: jump past the sender's timestamp. */
  receive(remote: number): number {
    this.time = Math.max(this.time, remote) + 1;
    return this.time;
  }
}

export interface McastMessage {
  /** Lamport timestamp at the sender when it multicast the message. */
  ts: number;
  sender: number;
  /** Per-sender sequence number, from 1. */
  seq: number;
}

/** (ts, sender) order; unique because one sender's timestamps strictly increase. */
export function compareMessages(a: McastMessage, b: McastMessage): number {
  return a.ts - b.ts || a.sender - b.sender;
}

export function messageKey(sender: number, seq: number): string {
  return `${sender}:${seq}`;
}

export function formatMessage(m: McastMessage): string {
  return `(ts=${m.ts}, sender=${m.sender}, seq=${m.seq})`;
}

export interface PendingMessage extends McastMessage {
  /** Peers whose ack is still missing. */
  missingAcks: number[];
  /** Why it is not delivered yet, in words. */
  why: string;
}

export type AddResult = 'added' | 'duplicate' | 'already-delivered';

export class TotalOrderQueue {
  private readonly members: readonly number[];
  private readonly queue: McastMessage[] = [];
  /** Acks per message key; acks may arrive before the message itself (from a peer that got it first). */
  private readonly acks = new Map<string, Set<number>>();
  private readonly queued = new Set<string>();
  private readonly delivered = new Set<string>();

  /** `members`: every peer id in the group, this one included. */
  constructor(members: Iterable<number>) {
    this.members = [...new Set(members)].sort((a, b) => a - b);
  }

  add(msg: McastMessage): AddResult {
    const key = messageKey(msg.sender, msg.seq);
    if (this.delivered.has(key)) return 'already-delivered';
    if (this.queued.has(key)) return 'duplicate';
    this.queued.add(key);
    // Binary insertion keeps the queue sorted by (ts, sender).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareMessages(this.queue[mid]!, msg) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, { ts: msg.ts, sender: msg.sender, seq: msg.seq });
    return 'added';
  }

  /** Records that `from` acknowledged (sender, seq). Returns false for a duplicate ack. */
  ack(from: number, sender: number, seq: number): boolean {
    const key = messageKey(sender, seq);
    if (this.delivered.has(key)) return false;
    let set = this.acks.get(key);
    if (!set) this.acks.set(key, (set = new Set()));
    if (set.has(from)) return false;
    set.add(from);
    return true;
  }

  /** Pops and returns, in order, every message that may be delivered now. */
  takeDeliverable(): McastMessage[] {
    const out: McastMessage[] = [];
    while (this.queue.length > 0 && this.missingAcks(this.queue[0]!).length === 0) {
      const head = this.queue.shift()!;
      const key = messageKey(head.sender, head.seq);
      this.queued.delete(key);
      this.acks.delete(key);
      this.delivered.add(key);
      out.push(head);
    }
    return out;
  }

  missingAcks(msg: McastMessage): number[] {
    const got = this.acks.get(messageKey(msg.sender, msg.seq));
    return this.members.filter((m) => m !== msg.sender && !got?.has(m));
  }

  /** Received but not delivered, in queue order, each with what it waits for. */
  pending(): PendingMessage[] {
    const head = this.queue[0];
    return this.queue.map((m) => {
      const missingAcks = this.missingAcks(m);
      const why =
        missingAcks.length > 0
          ? `missing acks from peer(s) ${missingAcks.join(', ')}`
          : `fully acked, waiting behind ${formatMessage(head!)}`;
      return { ...m, missingAcks, why };
    });
  }

  isDelivered(sender: number, seq: number): boolean {
    return this.delivered.has(messageKey(sender, seq));
  }

  has(sender: number, seq: number): boolean {
    const key = messageKey(sender, seq);
    return this.queued.has(key) || this.delivered.has(key);
  }

  get deliveredCount(): number {
    return this.delivered.size;
  }

  get size(): number {
    return this.queue.length;
  }
}
