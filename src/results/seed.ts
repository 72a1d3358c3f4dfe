/**
 * The seed's programs in the lab (docker/twisted: the course's Twisted peer, quirks kept) write no
 * events; what they did is read from their stdout, which is the seed's, line for line:
 *
 *   client   `Sending update`            one per <update> sent
 *            `Client received <data>`    one per read; the seed counts each one as an ack
 *            `Received N acks`           at the end: N = reads, the <connection up> greeting included
 *            `Failed to connect to: …`   the connection failed (then `Received 0 acks`)
 *   server   `Connected from …`          one per connection (it then sends <connection up>)
 *            `Server received <data>`    one per read …
 *            `sendAck`                   … each answered with ONE <Ack>, however many <update>s it held
 *
 * Tokens are counted in the concatenated data, so a token split over two reads still counts once.
 */
import type { PeerClientMetrics } from './format.js';

export const SEED_TOKENS = { update: '<update>', ack: '<Ack>', greeting: '<connection up>' } as const;

/** What the seed's peer client did, from its stdout. */
export interface SeedClientOutput {
  updatesSent: number;
  /** Reads (`Client received` lines): what the seed counts as acks. */
  reads: number;
  /** `<Ack>` tokens received. */
  acks: number;
  /** `<connection up>` greetings received. */
  greetings: number;
  /** Reads that held two or more whole tokens. */
  coalescedReads: number;
  /** The seed's own count, from its last `Received N acks`; null when it never printed one (killed). */
  reported: number | null;
  /** `Failed to connect to: …`, when the connection failed. */
  connectFailed: string | null;
}

/** What the seed's peer server did, from its stdout (over all its connections). */
export interface SeedServerOutput {
  connections: number;
  /** Reads (`Server received` lines). */
  reads: number;
  /** `<update>` tokens received. */
  updates: number;
  /** `<Ack>`s sent (`sendAck` lines): one per read. */
  acksSent: number;
  /** Reads that held two or more `<update>`s. */
  coalescedReads: number;
}

const count = (text: string, token: string) => (text === '' ? 0 : text.split(token).length - 1);
const wholeTokens = (text: string) => count(text, SEED_TOKENS.update) + count(text, SEED_TOKENS.ack) + count(text, SEED_TOKENS.greeting);

function linesOf(stdout: string): string[] {
  return stdout.split(/\r?\n/);
}

export function parseSeedClient(stdout: string): SeedClientOutput {
  let updatesSent = 0;
  let reads = 0;
  let coalescedReads = 0;
  let data = '';
  let reported: number | null = null;
  let connectFailed: string | null = null;
  for (const line of linesOf(stdout)) {
    if (line === 'Sending update') updatesSent++;
    else if (line.startsWith('Client received ')) {
      const read = line.slice('Client received '.length);
      reads++;
      if (wholeTokens(read) >= 2) coalescedReads++;
      data += read;
    } else if (line.startsWith('Failed to connect to:')) connectFailed = line;
    else {
      const m = /^Received (\d+) acks$/.exec(line);
      if (m) reported = Number(m[1]);
    }
  }
  return { updatesSent, reads, acks: count(data, SEED_TOKENS.ack), greetings: count(data, SEED_TOKENS.greeting), coalescedReads, reported, connectFailed };
}

export function parseSeedServer(stdout: string): SeedServerOutput {
  let connections = 0;
  let reads = 0;
  let acksSent = 0;
  let coalescedReads = 0;
  let data = '';
  for (const line of linesOf(stdout)) {
    if (line.startsWith('Connected from ')) connections++;
    else if (line.startsWith('Server received ')) {
      const read = line.slice('Server received '.length);
      reads++;
      if (count(read, SEED_TOKENS.update) >= 2) coalescedReads++;
      data += read;
    } else if (line === 'sendAck') acksSent++;
  }
  return { connections, reads, updates: count(data, SEED_TOKENS.update), acksSent, coalescedReads };
}

/**
 * The seed client as a peer client of the comparison: its acks are what it reports (reads, the
 * greeting included), as the seed counts them; no round trips (its output has no times).
 */
export function seedClientMetrics(node: { name: string; exitCode: number | null; stdout?: string }): PeerClientMetrics {
  const out = parseSeedClient(node.stdout ?? '');
  const acksReceived = out.reported ?? out.reads;
  const status: PeerClientMetrics['status'] =
    node.exitCode === null ? 'running' : out.connectFailed ? 'incomplete' : out.reported !== null && node.exitCode === 0 ? 'completed' : 'crashed';
  return {
    node: node.name,
    status,
    exitCode: node.exitCode,
    reason: out.connectFailed ? `could not connect (${out.connectFailed})` : null,
    updatesSent: out.updatesSent,
    acksReceived,
    ackRatio: out.updatesSent > 0 ? Math.round((acksReceived / out.updatesSent) * 10_000) / 10_000 : null,
    ackRttMs: { p50: null, p95: null, p99: null, max: null },
    connectionsMade: out.connectFailed ? 0 : out.reads > 0 || out.updatesSent > 0 ? 1 : 0,
    connectionsLost: 0,
  };
}
