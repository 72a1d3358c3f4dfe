/**
 * acklab-peer — the course's client/server peer (10-peer-twisted-server.py), seed-compatible on the
 * command line (`server|client [host:]port`) and on the wire (`<connection up>`, `<update>`, `<Ack>`),
 * with the seed's quirks fixed (see the README): tokenised counting, one ack per update, the given port.
 */
import { humanOutput, openEventSink } from '../events.js';
import { durationOption, integerOption, INTERVAL, NON_NEGATIVE, parseCommandLine, parseHostPort, runProgram, UsageError } from '../options.js';
import { runPeerClient } from './client.js';
import { openRecordLog } from './record-log.js';
import { runPeerServer } from './server.js';

export const PEER_USAGE = `usage: acklab-peer [options] [client|server] [hostname]:port

  acklab-peer server 127.0.0.1:8888
  acklab-peer client 127.0.0.1:8888 --interval 1s --count 10

options:
  --interval D     time between updates, client (default 5s as in the seed; "200ms", "1.5s" or seconds)
  --count N        client: stop after N updates, 1–1000000 (then wait for their acks and close)
  --duration D     client: stop after D (then wait for outstanding acks and close)
  --linger D       client: how long to wait for outstanding acks at the end (default 2s)
  --reconnect      client: reconnect with backoff after a lost connection (counts per connection)
  --log FILE       one JSON record per update received (server) / per ack received (client)
  --events FILE|-  NDJSON events to FILE, or to stdout with "-" (human lines then go to stderr)
  -h, --help       this text

ranges: --interval 1ms or more; every duration at most 2147483647ms (about 24.8 days, the longest timer)

exit codes: 0 run completed; 1 could not connect, or the connection was lost (and not recovered
with --reconnect); 2 usage error`;

export async function main(argv: string[]): Promise<void> {
  await runProgram(() => runPeer(argv));
}

async function runPeer(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: {
        interval: { type: 'string', default: '5' },
        count: { type: 'string' },
        duration: { type: 'string' },
        linger: { type: 'string', default: '2s' },
        reconnect: { type: 'boolean', default: false },
        log: { type: 'string' },
        events: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    PEER_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${PEER_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 2) {
    throw new UsageError(`expected 2 arguments, [client|server] and [hostname]:port (got ${positionals.length})`, PEER_USAGE);
  }
  const [role, address] = positionals as [string, string];
  if (role !== 'client' && role !== 'server') throw new UsageError(`peer type must be "client" or "server" (got "${role}")`, PEER_USAGE);
  const { host, port } = parseHostPort(address, PEER_USAGE);
  const intervalMs = durationOption('interval', values.interval, PEER_USAGE, INTERVAL);
  const count = values.count === undefined ? undefined : integerOption('count', values.count, PEER_USAGE, { min: 1, max: 1_000_000 });
  const durationMs = values.duration === undefined ? undefined : durationOption('duration', values.duration, PEER_USAGE);
  const lingerMs = durationOption('linger', values.linger, PEER_USAGE, NON_NEGATIVE);
  if (role === 'server') {
    for (const opt of ['count', 'duration', 'reconnect'] as const) {
      if (values[opt] !== undefined && values[opt] !== false) throw new UsageError(`--${opt} applies to the client only`, PEER_USAGE);
    }
  } else if (port === 0) {
    throw new UsageError(`client: port 0 is not a destination`, PEER_USAGE);
  }

  const events = openEventSink(values.events);
  const out = humanOutput(events);
  let log;
  try {
    log = openRecordLog(values.log);
  } catch (err) {
    events.close();
    throw err;
  }
  try {
    if (role === 'server') return await runPeerServer({ host, port, events, out, log });
    return await runPeerClient({ host, port, intervalMs, count, durationMs, lingerMs, reconnect: values.reconnect, events, out, log });
  } finally {
    log.close();
    events.close();
  }
}
