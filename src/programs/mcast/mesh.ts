/**
 * Setting up connections: a full TCP mesh among all peer ids. Roles are deterministic — the lower id
 * dials the higher — so each pair gets exactly one link and no tie-breaking is needed. Dialing retries
 * with backoff (peers start in any order) until --connect-timeout; then the error names the peers
 * whose links are missing. Once a peer's own links are all up it says `ready`; the mesh is complete
 * (and multicasting may start) when every peer has said ready, i.e. every link in the group is up.
 */
import net from 'node:net';
import type { EventSink, HumanOutput } from '../events.js';
import { LineParser } from '../framing.js';
import { closeReason, formatAddress, type HostPort } from '../options.js';
import { decode, encode, type WireMessage } from './protocol.js';
import { Timers } from '../timers.js';

export interface Link {
  readonly peer: number;
  readonly address: string;
  send(msg: WireMessage): void;
  /** Graceful: flush, then FIN. */
  end(): void;
  destroy(): void;
  /** Set once the peer said `bye`. */
  left: boolean;
  closed: boolean;
}

export interface MeshHandlers {
  /** A validated protocol line (not hello/ready, which the mesh handles) from a linked peer. */
  onMessage(link: Link, msg: WireMessage): void;
  /** The link to a peer closed after the mesh was complete (or during setup, with no retry possible). */
  onClose(link: Link, reason: string): void;
  /** Any line received: from `peer` once the link is known, of `type` when it decoded (failure detection, quiescence). */
  onActivity?(peer: number | undefined, type: WireMessage['type'] | undefined): void;
}

export interface MeshOptions {
  id: number;
  listen: HostPort;
  peers: ReadonlyMap<number, HostPort>;
  count: number;
  connectTimeoutMs: number;
  /** Once the mesh is complete, a ping to every peer this often (so a silent peer is a suspect one). */
  heartbeatMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  events: EventSink;
  out: HumanOutput;
  handlers: MeshHandlers;
}

export class MeshError extends Error {
  constructor(message: string, readonly missing: number[]) {
    super(message);
    this.name = 'MeshError';
  }
}

export class Mesh {
  readonly links = new Map<number, Link>();
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly readyFrom = new Set<number>();
  private readonly dialErrors = new Map<number, string>();
  private readonly timers = new Timers();
  private sentReady = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private complete = false;
  private closing = false;
  private settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
  rejectedLines = 0;
  listenPort = 0;

  constructor(private readonly opts: MeshOptions) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', () => {}); // accept errors must not kill the peer; listen errors go through start()
  }

  /** Listens, dials, and resolves when every peer is ready; rejects with MeshError at the timeout. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) =>
        reject(new Error(`cannot listen on ${formatAddress(this.opts.listen.host, this.opts.listen.port)}: ${err.message}`, { cause: err })),
      );
      this.server.listen({ host: this.opts.listen.host, port: this.opts.listen.port }, resolve);
    });
    this.listenPort = (this.server.address() as net.AddressInfo).port;
    this.opts.out.line(`Peer ${this.opts.id} listening on ${formatAddress(this.opts.listen.host, this.listenPort)}`);
    this.opts.events.emit({ event: 'listening', program: 'acklab-mcast', host: this.opts.listen.host, port: this.listenPort });

    const done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    for (const [peer, addr] of this.opts.peers) if (peer > this.opts.id) this.dial(peer, addr, this.opts.backoff?.initialMs ?? 100);
    this.later(this.opts.connectTimeoutMs, () => this.timeout());
    this.checkProgress();
    return done;
  }

  broadcast(msg: WireMessage): void {
    for (const link of this.links.values()) if (!link.left && !link.closed) link.send(msg);
  }

  /**
   * Ends every link and waits (bounded) for them to close. `bye` is said only by a peer that delivered
   * everything: its acks are all sent, so the others owe it nothing and need nothing more from it. A peer
   * leaving early just closes, and the others see it as lost (and stop waiting for its acks).
   */
  async close({ bye, waitMs = 1000 }: { bye: boolean; waitMs?: number }): Promise<void> {
    this.closing = true;
    this.timers.clearAll();
    clearInterval(this.heartbeat);
    if (bye) this.broadcast({ type: 'bye', id: this.opts.id });
    for (const link of this.links.values()) link.end();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, waitMs);
      const check = () => {
        if ([...this.sockets].every((s) => s.destroyed)) {
          clearTimeout(t);
          resolve();
        } else setTimeout(check, 10);
      };
      check();
    });
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private dial(peer: number, addr: HostPort, delayMs: number): void {
    if (this.closing || this.links.has(peer)) return;
    const target = formatAddress(addr.host, addr.port);
    const socket = net.connect({ host: addr.host, port: addr.port, noDelay: true });
    this.sockets.add(socket);
    let established = false;
    socket.once('connect', () => {
      established = true;
      socket.write(encode({ type: 'hello', id: this.opts.id, count: this.opts.count }));
      this.handshake(socket, target, 'dialed', peer);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!established) this.dialErrors.set(peer, `dial ${target} failed: ${closeReason(err)}`);
    });
    socket.once('close', () => {
      this.sockets.delete(socket);
      if (this.closing || this.complete || this.links.has(peer)) return;
      if (!established && !this.dialErrors.has(peer)) this.dialErrors.set(peer, `dial ${target}: connection closed`);
      const next = Math.min(delayMs * 2, this.opts.backoff?.maxMs ?? 1000);
      this.later(delayMs, () => this.dial(peer, addr, next));
    });
  }

  private accept(socket: net.Socket): void {
    if (this.closing) return void socket.destroy();
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    this.handshake(socket, formatAddress(socket.remoteAddress, socket.remotePort), 'accepted');
  }

  /** Reads the peer's hello (and, for accepted sockets, answers it), then turns the socket into a Link. */
  private handshake(socket: net.Socket, address: string, role: 'dialed' | 'accepted', expected?: number): void {
    const parser = new LineParser();
    let link: Link | undefined;
    let closeWhy: string | undefined;
    const reject = (why: string) => {
      this.rejectedLines++;
      this.opts.out.line(`Rejected line from ${link ? `peer ${link.peer}` : address}: ${why}`);
      this.opts.events.emit({ event: 'rejected_line', peer: link ? String(link.peer) : address, reason: why });
    };
    const refuse = (why: string) => {
      this.opts.out.line(`Refusing connection from ${address}: ${why}`);
      if (expected !== undefined) this.dialErrors.set(expected, `${address}: ${why}`);
      socket.destroy();
    };
    socket.on('data', (chunk) => {
      for (const r of parser.push(chunk)) {
        if (socket.destroyed) return;
        if ('error' in r) {
          this.opts.handlers.onActivity?.(link?.peer, undefined);
          reject(r.error.message);
          continue;
        }
        if (r.line.trim() === '') continue;
        const decoded = decode(r.line);
        this.opts.handlers.onActivity?.(link?.peer, decoded.ok ? decoded.msg.type : undefined);
        if (!decoded.ok) {
          reject(decoded.reason);
          continue;
        }
        const msg = decoded.msg;
        if (!link) {
          if (msg.type !== 'hello') {
            refuse(`expected hello first, got ${msg.type}`);
            return;
          }
          const problem = this.checkHello(msg, role, expected);
          if (problem) return refuse(problem);
          if (role === 'accepted') socket.write(encode({ type: 'hello', id: this.opts.id, count: this.opts.count }));
          link = this.register(socket, msg.id, address, role);
          continue;
        }
        if (msg.type === 'hello') {
          reject(`unexpected second hello`);
        } else if (msg.type === 'ready') {
          if (msg.id !== link.peer) reject(`ready for id ${msg.id} on the link of peer ${link.peer}`);
          else this.onReady(msg.id);
        } else if (msg.type === 'ping') {
          if (msg.id !== link.peer) reject(`ping for id ${msg.id} on the link of peer ${link.peer}`);
        } else {
          this.opts.handlers.onMessage(link, msg);
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      closeWhy ??= closeReason(err);
    });
    socket.once('close', () => {
      if (!link) return;
      link.closed = true;
      const why = closeWhy ?? (link.left ? 'left after bye' : 'connection closed without bye');
      if (this.links.get(link.peer) === link && !this.complete && !this.closing && !link.left) {
        // Lost during setup: forget it; the dialer (lower id) will dial again until the timeout.
        this.links.delete(link.peer);
        this.readyFrom.delete(link.peer);
        this.dialErrors.set(link.peer, `link lost during setup: ${why}`);
        this.opts.out.line(`Link to peer ${link.peer} lost during setup (${why})`);
        if (link.peer > this.opts.id) this.dial(link.peer, this.opts.peers.get(link.peer)!, this.opts.backoff?.initialMs ?? 100);
        return;
      }
      if (!this.closing) this.opts.handlers.onClose(link, why);
    });
  }

  private checkHello(msg: Extract<WireMessage, { type: 'hello' }>, role: 'dialed' | 'accepted', expected?: number): string | undefined {
    if (!this.opts.peers.has(msg.id)) return `hello from id ${msg.id}, which is not in --peers (${[...this.opts.peers.keys()].join(', ')})`;
    if (role === 'dialed' && msg.id !== expected) return `expected peer ${expected} at this address, but it says it is ${msg.id}`;
    if (role === 'accepted' && msg.id > this.opts.id) return `peer ${msg.id} dialed us, but the lower id dials the higher (we are ${this.opts.id})`;
    if (this.links.has(msg.id)) return `peer ${msg.id} is already linked`;
    if (msg.count !== this.opts.count) return `peer ${msg.id} runs with --count ${msg.count}, we run with --count ${this.opts.count}`;
    return undefined;
  }

  private register(socket: net.Socket, peer: number, address: string, role: 'dialed' | 'accepted'): Link {
    const link: Link = {
      peer,
      address,
      left: false,
      closed: false,
      send: (msg) => {
        if (!socket.destroyed && socket.writable) socket.write(encode(msg));
      },
      end: () => socket.end(),
      destroy: () => socket.destroy(),
    };
    this.links.set(peer, link);
    this.dialErrors.delete(peer);
    this.opts.out.line(`Connected to peer ${peer} at ${address} (${role})`);
    this.opts.events.emit({ event: 'peer_connected', peer, address, role });
    this.checkProgress();
    return link;
  }

  private onReady(peer: number): void {
    this.readyFrom.add(peer);
    this.checkProgress();
  }

  private checkProgress(): void {
    if (this.complete) return;
    if (!this.sentReady && this.links.size === this.opts.peers.size) {
      this.sentReady = true;
      this.broadcast({ type: 'ready', id: this.opts.id });
    }
    if (this.sentReady && this.readyFrom.size === this.opts.peers.size) {
      this.complete = true;
      this.timers.clearAll();
      const peers = [...this.opts.peers.keys()].sort((a, b) => a - b);
      this.opts.out.line(`Mesh complete: linked to peers ${peers.join(', ')}`);
      this.opts.events.emit({ event: 'mesh_complete', peers });
      if (this.opts.heartbeatMs !== undefined) {
        this.heartbeat = setInterval(() => this.broadcast({ type: 'ping', id: this.opts.id }), this.opts.heartbeatMs);
      }
      this.settle?.resolve();
    }
  }

  private timeout(): void {
    if (this.complete) return;
    const ids = [...this.opts.peers.keys()].sort((a, b) => a - b);
    const missingLinks = ids.filter((p) => !this.links.has(p));
    const notReady = ids.filter((p) => this.links.has(p) && !this.readyFrom.has(p));
    const parts: string[] = [];
    if (missingLinks.length) {
      parts.push(
        `no link to peer(s) ${missingLinks
          .map((p) => `${p} (${this.dialErrors.get(p) ?? (p < this.opts.id ? `never dialed us from its side` : 'not reached')})`)
          .join(', ')}`,
      );
    }
    if (notReady.length) parts.push(`peer(s) ${notReady.join(', ')} linked but still missing links of their own`);
    this.settle?.reject(
      new MeshError(`mesh incomplete after ${this.opts.connectTimeoutMs} ms (--connect-timeout): ${parts.join('; ')}`, [...missingLinks, ...notReady]),
    );
  }

  private later(ms: number, fn: () => void): void {
    this.timers.later(ms, fn);
  }
}
