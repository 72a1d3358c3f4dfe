/**
 * acklab-echo — the course's echo server (9-echo-twisted-server.py), hardened: every byte is written
 * back in order; reading pauses while a client's write buffer is full (a client that never reads costs
 * one socket buffer, not unbounded memory); half-closes are honoured (pending echo is flushed, then
 * FIN); socket errors end that connection only.
 */
import net from 'node:net';
import { humanOutput, openEventSink } from '../events.js';
import { closeReason, formatAddress, onStopSignal, parseCommandLine, portNumber, runProgram, UsageError } from '../options.js';

export const ECHO_USAGE = `usage: acklab-echo [--port 8881] [--host 0.0.0.0] [--events FILE|-]

  --port N         TCP port to listen on (default 8881, as in the seed; 0 = any free port)
  --host ADDR      address to listen on (default 0.0.0.0)
  --events FILE|-  write NDJSON events to FILE, or to stdout with "-" (human lines then go to stderr)`;

export async function main(argv: string[]): Promise<void> {
  await runProgram(() => runEcho(argv));
}

async function runEcho(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string', default: '8881' },
        host: { type: 'string', default: '0.0.0.0' },
        events: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    ECHO_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${ECHO_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, ECHO_USAGE);
  const port = portNumber('--port', values.port, ECHO_USAGE);
  const events = openEventSink(values.events);
  const out = humanOutput(events);
  const sockets = new Set<net.Socket>();
  let nextConn = 0;

  const server = net.createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: false }, (socket) => {
    const conn = ++nextConn;
    const peer = formatAddress(socket.remoteAddress, socket.remotePort);
    sockets.add(socket);
    let bytesIn = 0;
    let lastError: NodeJS.ErrnoException | undefined;
    out.line(`Connected from ${peer}`);
    events.emit({ event: 'connected', peer, conn });

    socket.on('data', (chunk) => {
      bytesIn += chunk.length;
      // Back-pressure: stop reading until the peer has drained what we owe it.
      if (!socket.write(chunk)) socket.pause();
    });
    socket.on('drain', () => socket.resume());
    // Half-close: the client is done sending; finish echoing what we have, then send our FIN.
    socket.on('end', () => socket.end());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err;
    });
    socket.on('close', () => {
      sockets.delete(socket);
      const reason = closeReason(lastError);
      out.line(`Disconnected from ${peer} ${reason}`);
      events.emit({ event: 'disconnected', peer, conn, reason, bytesIn, bytesOut: socket.bytesWritten });
    });
  });
  server.on('error', () => {}); // listen errors are reported by the promise below; accept errors (EMFILE) must not kill us

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${formatAddress(values.host, port)}: ${err.message}`, { cause: err })));
    server.listen({ port, host: values.host, backlog: 4096 }, resolve);
  });
  const bound = server.address() as net.AddressInfo;
  out.line(`Echo server listening on ${formatAddress(bound.address, bound.port)}`);
  events.emit({ event: 'listening', program: 'acklab-echo', host: bound.address, port: bound.port });

  await new Promise<void>((resolve) => {
    const dispose = onStopSignal((signal) => {
      dispose();
      out.line(`Stopping on ${signal}`);
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  });
  events.emit({ event: 'summary', program: 'acklab-echo', summary: { connections: nextConn } });
  events.close();
  return 0;
}
