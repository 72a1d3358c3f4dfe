/**
 * The peer's client role: `--interval` after connecting, and every interval after, send `<update>`
 * (as the seed's callLater(5, sendUpdate)). Acks are counted per `<Ack>` TOKEN (the seed counted every
 * read, its `<connection up>` greeting included) and matched FIFO to the updates, which TCP keeps in
 * order, giving an ack round-trip time per update.
 */
import net from 'node:net';
import type { EventSink, HumanOutput } from '../events.js';
import { ACK, GREETING, TokenParser, UPDATE } from '../framing.js';
import { closeReason, formatAddress, onStopSignal, percentiles } from '../options.js';
import type { RecordLog } from './record-log.js';
import { Timers } from '../timers.js';

export interface PeerClientOptions {
  host: string;
  port: number;
  intervalMs: number;
  count?: number;
  durationMs?: number;
  reconnect: boolean;
  /** After the last update, how long to wait for outstanding acks before closing. */
  lingerMs: number;
  events: EventSink;
  out: HumanOutput;
  log: RecordLog;
  /** Reconnect backoff: first delay and cap (ms). */
  backoff?: { initialMs: number; maxMs: number };
}

export interface ConnectionRecord {
  conn: number;
  updatesSent: number;
  acksReceived: number;
  /** Why it ended; absent while open or when we closed it at the end of the run. */
  lost?: string;
}

export interface PeerClientSummary {
  role: 'client';
  target: string;
  completed: boolean;
  reason: string;
  updatesSent: number;
  acksReceived: number;
  acksOutstanding: number;
  unmatchedAcks: number;
  ackRttMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  connectionsMade: number;
  connectionsLost: number;
  connectAttempts: number;
  perConnection: ConnectionRecord[];
}

type StopCause = 'count' | 'duration' | 'signal';

export async function runPeerClient(opts: PeerClientOptions): Promise<number> {
  return new PeerClient(opts).run();
}

class PeerClient {
  private readonly target: string;
  private readonly connections: ConnectionRecord[] = [];
  private readonly rtts: number[] = [];
  private socket: net.Socket | undefined;
  private current: ConnectionRecord | undefined;
  private sendTimes: number[] = [];
  private totalSent = 0;
  private totalAcks = 0;
  private unmatchedAcks = 0;
  private attempts = 0;
  private made = 0;
  private lost = 0;
  private backoffMs: number;
  private stopping: StopCause | undefined;
  private finished = false;
  private readonly timers = new Timers();
  /** Sockets we ended ourselves: their close is the end of the run, not a loss. */
  private endedByUs = new WeakSet<net.Socket>();
  private resolveRun!: (code: number) => void;

  constructor(private readonly opts: PeerClientOptions) {
    this.target = formatAddress(opts.host, opts.port);
    this.backoffMs = opts.backoff?.initialMs ?? 200;
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => (this.resolveRun = resolve));
    this.opts.out.line(`Connecting to host ${this.opts.host} port ${this.opts.port}`);
    const disposeSignals = onStopSignal((signal) => {
      this.opts.out.line(`Stopping on ${signal}`);
      this.beginStop('signal');
    });
    if (this.opts.durationMs !== undefined) this.later(this.opts.durationMs, () => this.beginStop('duration'));
    if (this.opts.count === 0) this.beginStop('count');
    else this.connect();
    return done.finally(disposeSignals);
  }

  private connect(): void {
    this.attempts++;
    const attempt = this.attempts;
    const socket = net.connect({ host: this.opts.host, port: this.opts.port, noDelay: true });
    let connected = false;
    let record: ConnectionRecord | undefined;
    let error: NodeJS.ErrnoException | undefined;
    let reason: string | undefined;
    let bytesIn = 0;
    const parser = new TokenParser({ tokens: [ACK, GREETING, UPDATE] });
    this.socket = socket;

    socket.on('connect', () => {
      connected = true;
      this.made++;
      this.backoffMs = this.opts.backoff?.initialMs ?? 200;
      record = { conn: this.made, updatesSent: 0, acksReceived: 0 };
      this.connections.push(record);
      this.current = record;
      this.sendTimes = [];
      this.opts.out.line(`Connected to ${this.target}`);
      this.opts.events.emit({ event: 'connected', peer: this.target, conn: record.conn });
      if (this.stopping) this.closeWhenAcked();
      else this.scheduleUpdate(socket, record);
    });
    socket.on('data', (chunk) => {
      bytesIn += chunk.length;
      const { tokens, error } = parser.push(chunk);
      for (const token of tokens) {
        if (token === GREETING) {
          this.opts.out.line(`Client received ${GREETING}`);
          this.opts.events.emit({ event: 'greeting_received', conn: record!.conn });
        } else if (token === ACK) {
          this.opts.out.line(`Client received ${ACK}`);
          this.onAck(record!);
        } else {
          return protocolError(`unexpected token ${token} from a server (a client only accepts ${ACK} and ${GREETING})`);
        }
      }
      if (error) return protocolError(error.message);
      if (this.stopping) this.closeWhenAcked();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error ??= err;
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      if (this.finished) return;
      if (!connected) return this.onConnectFailed(attempt, error);
      const intended = this.endedByUs.has(socket) && reason === undefined && error === undefined;
      const why = reason ?? closeReason(error, intended ? 'closed by us at the end of the run' : 'connection closed by the server');
      this.opts.out.line('Disconnected');
      this.opts.events.emit({ event: 'disconnected', peer: this.target, conn: record!.conn, reason: why, bytesIn, bytesOut: socket.bytesWritten });
      if (this.current === record) this.current = undefined;
      if (intended) return this.finish(0, `completed (${this.stopping})`);
      record!.lost = why;
      this.lost++;
      this.opts.out.line(`Lost connection. Reason: ${why}`);
      if (this.opts.reconnect && !this.stopping) return this.scheduleReconnect();
      this.finish(1, `connection lost: ${why}`);
    });

    const protocolError = (message: string) => {
      reason = `protocol error: ${message}`;
      this.opts.out.line(`Protocol error from ${this.target}: ${message}; closing the connection`);
      this.opts.events.emit({ event: 'protocol_error', peer: this.target, conn: record!.conn, reason: message });
      socket.destroy();
    };
  }

  private onConnectFailed(attempt: number, error: NodeJS.ErrnoException | undefined): void {
    const why = closeReason(error, 'connection closed before it was established');
    this.opts.out.line(`Failed to connect to: ${this.target} (${why})`);
    this.opts.events.emit({ event: 'connect_failed', target: this.target, attempt, error: why });
    if (this.opts.reconnect && !this.stopping) return this.scheduleReconnect();
    this.finish(1, `could not connect to ${this.target}: ${why}`);
  }

  private scheduleReconnect(): void {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoff?.maxMs ?? 1000);
    this.opts.out.line(`Reconnecting in ${delay} ms`);
    this.later(delay, () => {
      if (!this.stopping && !this.finished) this.connect();
    });
  }

  private scheduleUpdate(socket: net.Socket, record: ConnectionRecord): void {
    this.later(this.opts.intervalMs, () => {
      if (this.stopping || this.socket !== socket || socket.destroyed) return;
      this.sendUpdate(socket, record);
      if (!this.stopping) this.scheduleUpdate(socket, record);
    });
  }

  private sendUpdate(socket: net.Socket, record: ConnectionRecord): void {
    this.opts.out.line('Sending update');
    record.updatesSent++;
    this.totalSent++;
    // Logged before the write, so the server's update_received can never precede it in wall-clock time.
    this.opts.events.emit({ event: 'update_sent', conn: record.conn, seq: record.updatesSent });
    this.sendTimes.push(performance.now());
    socket.write(UPDATE);
    if (this.opts.count !== undefined && this.totalSent >= this.opts.count) this.beginStop('count');
  }

  private onAck(record: ConnectionRecord): void {
    const sentAt = this.sendTimes.shift();
    if (sentAt === undefined) {
      // More acks than updates on this connection: counted apart, never as an ack of ours.
      this.unmatchedAcks++;
      this.opts.events.emit({ event: 'unmatched_ack', conn: record.conn });
      return;
    }
    const rttMs = Math.round((performance.now() - sentAt) * 1000) / 1000;
    record.acksReceived++;
    this.totalAcks++;
    this.rtts.push(rttMs);
    this.opts.events.emit({ event: 'ack_received', conn: record.conn, seq: record.acksReceived, rttMs });
    this.opts.log.write({ conn: record.conn, seq: record.acksReceived, rttMs });
  }

  /** Stop sending; close once every update on the live connection is acked, or after the linger. */
  private beginStop(cause: StopCause): void {
    if (this.finished) return;
    if (this.stopping) {
      if (cause === 'signal') this.socket?.destroy(); // a second signal: stop waiting
      return;
    }
    this.stopping = cause;
    if (!this.socket || this.socket.connecting) {
      // Not connected: nothing to wait for. With a connection lost earlier, the run did not recover.
      this.socket?.destroy();
      this.socket = undefined;
      const lostLast = this.connections.at(-1)?.lost;
      if (this.lost > 0 && lostLast !== undefined) return this.finish(1, `connection lost and not recovered: ${lostLast}`);
      if (this.made === 0 && this.opts.count !== 0) return this.finish(1, `stopped (${cause}) before connecting to ${this.target}`);
      return this.finish(0, `completed (${cause})`);
    }
    this.later(this.opts.lingerMs, () => this.endSocket());
    this.closeWhenAcked();
  }

  private closeWhenAcked(): void {
    if (this.socket && !this.socket.connecting && this.sendTimes.length === 0) this.endSocket();
  }

  private endSocket(): void {
    if (!this.socket) return;
    this.endedByUs.add(this.socket);
    this.socket.end();
  }

  private finish(code: number, reason: string): void {
    if (this.finished) return;
    this.finished = true;
    this.timers.clearAll();
    this.socket?.destroy();
    const summary: PeerClientSummary = {
      role: 'client',
      target: this.target,
      completed: code === 0,
      reason,
      updatesSent: this.totalSent,
      acksReceived: this.totalAcks,
      acksOutstanding: this.totalSent - this.totalAcks,
      unmatchedAcks: this.unmatchedAcks,
      ackRttMs: percentiles(this.rtts),
      connectionsMade: this.made,
      connectionsLost: this.lost,
      connectAttempts: this.attempts,
      perConnection: this.connections,
    };
    this.opts.out.line(`Received ${this.totalAcks} acks`);
    if (code !== 0) this.opts.out.line(`Run incomplete: ${reason}`);
    this.opts.out.line(JSON.stringify(summary));
    this.opts.events.emit({ event: 'summary', program: 'acklab-peer', summary: { ...summary } });
    this.resolveRun(code);
  }

  private later(ms: number, fn: () => void): void {
    this.timers.later(ms, fn);
  }
}
