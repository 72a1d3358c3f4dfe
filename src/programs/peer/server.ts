/**
 * The peer's server role (the seed's `Peer` with peer_type 'server'): greets each connection with
 * `<connection up>` and answers every `<update>` TOKEN with one `<Ack>` — not one per read, which was
 * the seed's bug. It listens on the port it is given (the seed always listened on 8888).
 */
import net from 'node:net';
import type { EventSink, HumanOutput } from '../events.js';
import { ACK, GREETING, TokenParser, UPDATE } from '../framing.js';
import { closeReason, formatAddress, onStopSignal } from '../options.js';
import type { RecordLog } from './record-log.js';

export interface PeerServerOptions {
  host: string;
  port: number;
  events: EventSink;
  out: HumanOutput;
  log: RecordLog;
}

export interface PeerServerSummary {
  role: 'server';
  connections: number;
  updatesReceived: number;
  acksSent: number;
  protocolErrors: number;
}

/** Runs until SIGINT/SIGTERM; returns the exit code. */
export async function runPeerServer(opts: PeerServerOptions): Promise<number> {
  const { events, out, log } = opts;
  const sockets = new Set<net.Socket>();
  const summary: PeerServerSummary = { role: 'server', connections: 0, updatesReceived: 0, acksSent: 0, protocolErrors: 0 };

  const server = net.createServer({ noDelay: true }, (socket) => {
    const conn = ++summary.connections;
    const peer = formatAddress(socket.remoteAddress, socket.remotePort);
    const parser = new TokenParser({ tokens: [UPDATE, ACK, GREETING] });
    let updates = 0;
    let bytesIn = 0;
    let reason: string | undefined;
    sockets.add(socket);
    out.line(`Connected from ${peer}`);
    events.emit({ event: 'connected', peer, conn });
    socket.write(GREETING);

    socket.on('data', (chunk) => {
      if (reason !== undefined) return; // closing after a protocol error
      bytesIn += chunk.length;
      const { tokens, error } = parser.push(chunk);
      for (const token of tokens) {
        if (token !== UPDATE) return protocolError(`unexpected token ${token} from a client (a server only accepts ${UPDATE})`);
        const seq = ++updates;
        summary.updatesReceived++;
        out.line(`Server received ${UPDATE}`);
        events.emit({ event: 'update_received', peer, conn, seq });
        log.write({ peer, conn, seq });
        summary.acksSent++;
        events.emit({ event: 'ack_sent', peer, conn, seq }); // before the write: never later than the client's ack_received
        // A client that sends without reading our acks: stop reading until it drains.
        if (!socket.write(ACK)) socket.pause();
      }
      if (error) protocolError(error.message);
    });
    socket.on('drain', () => socket.resume());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reason ??= closeReason(err);
    });
    socket.on('close', () => {
      sockets.delete(socket);
      const why = reason ?? 'connection closed cleanly';
      out.line(`Disconnected from ${peer} (${why}) after ${updates} update(s)`);
      events.emit({ event: 'disconnected', peer, conn, reason: why, bytesIn, bytesOut: socket.bytesWritten });
    });

    function protocolError(message: string): void {
      summary.protocolErrors++;
      reason = `protocol error: ${message}`;
      out.line(`Protocol error from ${peer}: ${message}; closing the connection`);
      events.emit({ event: 'protocol_error', peer, conn, reason: message });
      // Flush the acks already owed, then FIN; a peer that never closes its side is cut after 1 s.
      socket.pause();
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  });
  server.on('error', () => {}); // accept errors (EMFILE) must not end the server; listen errors are handled below

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${formatAddress(opts.host, opts.port)}: ${err.message}`, { cause: err })));
    server.listen({ host: opts.host, port: opts.port }, resolve);
  });
  const bound = server.address() as net.AddressInfo;
  out.line(`Starting server @${opts.host} port ${bound.port}`);
  events.emit({ event: 'listening', program: 'acklab-peer', host: bound.address, port: bound.port });

  await new Promise<void>((resolve) => {
    const dispose = onStopSignal((signal) => {
      dispose();
      out.line(`Stopping on ${signal}`);
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  });
  out.line(JSON.stringify(summary));
  events.emit({ event: 'summary', program: 'acklab-peer', summary: { ...summary } });
  return 0;
}
