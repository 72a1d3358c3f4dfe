/**
 * acklab-echo — the course's echo server (9-echo-twisted-server.py), hardened: every byte is written
 * back in order; reading pauses while a client's write buffer is full (a client that never reads costs
 * one socket buffer, not unbounded memory); half-closes are honoured (pending echo is flushed, then
 * FIN); socket errors end that connection only. `--workers N` runs N processes on one port (node:cluster)
 * when one core is not enough; a worker that dies is replaced.
 */
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import os from 'node:os';
import { humanOutput, openEventSink, type EventSink, type HumanOutput } from '../events.js';
import { closeReason, formatAddress, integerOption, onStopSignal, parseCommandLine, portNumber, runProgram, UsageError } from '../options.js';

export const ECHO_USAGE = `usage: acklab-echo [--port 8881] [--host 0.0.0.0] [--events FILE|-] [--workers N|auto]

  --port N          TCP port to listen on (default 8881, as in the seed; 0 = any free port)
  --host ADDR       address to listen on (default 0.0.0.0)
  --events FILE|-   write NDJSON events to FILE, or to stdout with "-" (human lines then go to stderr)
  --workers N|auto  serve from N processes sharing the port ("auto" = one per CPU; default 1)`;

interface EchoConfig {
  port: number;
  host: string;
  events?: string;
  workers: number;
}

/** Worker → primary messages. */
type WorkerMessage = { type: 'listening'; port: number; address: string } | { type: 'stats'; connections: number };

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
        workers: { type: 'string', default: '1' },
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
  const config: EchoConfig = {
    port: portNumber('--port', values.port, ECHO_USAGE),
    host: values.host,
    events: values.events,
    workers: values.workers === 'auto' ? cpuCount() : integerOption('workers', values.workers, ECHO_USAGE, { min: 1, max: 256 }),
  };
  if (config.workers === 1) return runSingle(config);
  return cluster.isPrimary ? runPrimary(config) : runWorker(config);
}

/** The echo handler, shared by the single-process server and the workers. */
function createEchoServer(events: EventSink, out: HumanOutput, connId: () => number): { server: net.Server; sockets: Set<net.Socket> } {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    const conn = connId();
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
  server.on('error', () => {}); // accept errors (EMFILE) must not kill us; listen errors are reported by listen()
  return { server, sockets };
}

function listen(server: net.Server, config: EchoConfig): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot listen on ${formatAddress(config.host, config.port)}: ${err.message}`, { cause: err })));
    server.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolve(server.address() as net.AddressInfo));
  });
}

function untilStopSignal(out: HumanOutput): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const dispose = onStopSignal((signal) => {
      dispose();
      out.line(`Stopping on ${signal}`);
      resolve(signal);
    });
  });
}

async function stopServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sockets) s.destroy();
  await closed;
}

async function runSingle(config: EchoConfig): Promise<number> {
  const events = openEventSink(config.events);
  const out = humanOutput(events);
  let n = 0;
  const { server, sockets } = createEchoServer(events, out, () => ++n);
  const bound = await listen(server, config);
  out.line(`Echo server listening on ${formatAddress(bound.address, bound.port)}`);
  events.emit({ event: 'listening', program: 'acklab-echo', host: bound.address, port: bound.port });
  await untilStopSignal(out);
  await stopServer(server, sockets);
  events.emit({ event: 'summary', program: 'acklab-echo', summary: { connections: n, workers: 1 } });
  events.close();
  return 0;
}

async function runWorker(config: EchoConfig): Promise<number> {
  const index = Number(process.env.ACKLAB_ECHO_WORKER ?? 0);
  const events = openEventSink(config.events, Date.now, { append: true });
  const out = humanOutput(events);
  let n = 0;
  // Connection numbers stay unique across workers: worker i uses i+1, i+1+N, i+1+2N, …
  const { server, sockets } = createEchoServer(events, out, () => n++ * config.workers + index + 1);
  const bound = await listen(server, config);
  process.send!({ type: 'listening', port: bound.port, address: bound.address } satisfies WorkerMessage);
  // Stop on SIGTERM from the primary, or when the primary is gone (never outlive it).
  await Promise.race([untilStopSignal({ line() {} }), new Promise((r) => process.once('disconnect', r))]);
  await stopServer(server, sockets);
  if (process.connected) process.send!({ type: 'stats', connections: n } satisfies WorkerMessage);
  events.close();
  process.exit(0);
}

async function runPrimary(config: EchoConfig): Promise<number> {
  if (config.events !== undefined && config.events !== '-') openEventSink(config.events).close(); // truncate once; workers append
  const events = openEventSink(config.events, Date.now, { append: true });
  const out = humanOutput(events);
  const workers = new Map<Worker, number>();
  let connections = 0;
  let stopping = false;

  const fork = (index: number): Promise<WorkerMessage & { type: 'listening' }> => {
    const worker = cluster.fork({ ACKLAB_ECHO_WORKER: String(index) });
    workers.set(worker, index);
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'stats') connections += msg.connections;
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      if (stopping) return;
      out.line(`Worker ${index} exited (${signal ?? `code ${code}`}); starting a new one`);
      void fork(index).catch((err: Error) => out.line(`Worker ${index} could not restart: ${err.message}`));
    });
    return new Promise((resolve, reject) => {
      worker.on('message', (msg: WorkerMessage) => msg.type === 'listening' && resolve(msg));
      worker.once('exit', (code) => reject(new Error(`worker ${index} exited with code ${code} before listening (is ${formatAddress(config.host, config.port)} free?)`)));
    });
  };

  let bound: WorkerMessage & { type: 'listening' };
  try {
    [bound] = (await Promise.all(Array.from({ length: config.workers }, (_, i) => fork(i)))) as [WorkerMessage & { type: 'listening' }];
  } catch (err) {
    stopping = true;
    for (const w of workers.keys()) w.kill('SIGKILL');
    events.close();
    throw err;
  }
  out.line(`Echo server listening on ${formatAddress(bound.address, bound.port)} (${config.workers} worker processes)`);
  events.emit({ event: 'listening', program: 'acklab-echo', host: bound.address, port: bound.port });

  await untilStopSignal(out);
  stopping = true;
  await Promise.all(
    [...workers.keys()].map(
      (w) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(() => w.kill('SIGKILL'), 5000);
          w.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          w.kill('SIGTERM');
        }),
    ),
  );
  events.emit({ event: 'summary', program: 'acklab-echo', summary: { connections, workers: config.workers } });
  events.close();
  return 0;
}

function cpuCount(): number {
  // os.availableParallelism() is Node ≥ 18.14; the image's Node 18 may be older.
  const f = (os as { availableParallelism?: () => number }).availableParallelism;
  return Math.max(1, f ? f() : os.cpus().length);
}
