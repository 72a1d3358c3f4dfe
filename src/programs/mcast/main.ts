/**
 * acklab-mcast — the course's "Setting up connections" + "Multicast & ACK" assignment: a full mesh of
 * peers doing totally-ordered multicast with Lamport clocks and acks.
 */
import { humanOutput, openEventSink } from '../events.js';
import { durationOption, integerOption, INTERVAL, parseCommandLine, parseHostPort, runProgram, UsageError, type HostPort } from '../options.js';
import { runMcastPeer } from './peer.js';

export const MCAST_USAGE = `usage: acklab-mcast --id I --listen [host:]PORT --peers J@host:port,K@host:port,… --count N --interval D
                    [--out FILE] [--events FILE|-] [--connect-timeout D] [--duration D] [--grace D]

  acklab-mcast --id 1 --listen 9001 --peers 2@127.0.0.1:9002,3@127.0.0.1:9003 --count 10 --interval 200ms --out delivered-1.jsonl

options:
  --id I               this peer's id (integer ≥ 0; unique in the group)
  --listen [host:]PORT where to listen (host default 0.0.0.0); peers with a LOWER id dial us, we dial the higher ones
  --peers LIST         every OTHER peer as id@host:port, comma-separated
  --count N            messages this peer multicasts, 0–1000000 (every peer must use the same N; default 10)
  --interval D         time between this peer's multicasts (default 1s; "200ms", "1.5s" or seconds)
  --out FILE           the delivered file: one JSON line per delivered message (default delivered-<id>.jsonl)
  --events FILE|-      NDJSON events to FILE, or to stdout with "-" (human lines then go to stderr)
  --connect-timeout D  give up building the mesh after D, naming the missing peers (default 30s)
  --duration D         stop after D with what has been delivered
  --grace D            after a peer is lost, stop once nothing has arrived for D (default 2s)

ranges: --interval 1ms or more; every duration at most 2147483647ms (about 24.8 days, the longest timer)

exit codes: 0 all count × peers messages delivered; 1 error (e.g. mesh incomplete at --connect-timeout);
2 usage error; 3 stopped incomplete (peer lost, --duration, signal) — the summary says what is undelivered and why`;

export async function main(argv: string[]): Promise<void> {
  await runProgram(() => runMcast(argv));
}

async function runMcast(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(
    {
      args: argv,
      allowPositionals: true,
      options: {
        id: { type: 'string' },
        listen: { type: 'string' },
        peers: { type: 'string' },
        count: { type: 'string', default: '10' },
        interval: { type: 'string', default: '1s' },
        out: { type: 'string' },
        events: { type: 'string' },
        'connect-timeout': { type: 'string', default: '30s' },
        duration: { type: 'string' },
        grace: { type: 'string', default: '2s' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    MCAST_USAGE,
  );
  if (values.help) {
    process.stdout.write(`${MCAST_USAGE}\n`);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, MCAST_USAGE);
  if (values.id === undefined) throw new UsageError('--id is required', MCAST_USAGE);
  if (values.listen === undefined) throw new UsageError('--listen is required', MCAST_USAGE);
  const id = integerOption('id', values.id, MCAST_USAGE);
  const listenArg = values.listen.includes(':') ? values.listen : `0.0.0.0:${values.listen}`;
  const listen = parseHostPort(listenArg, MCAST_USAGE, `--listen "${values.listen}"`);
  const peers = parsePeers(values.peers ?? '', id);
  const count = integerOption('count', values.count, MCAST_USAGE, { max: 1_000_000 });
  const intervalMs = durationOption('interval', values.interval, MCAST_USAGE, INTERVAL);
  const connectTimeoutMs = durationOption('connect-timeout', values['connect-timeout'], MCAST_USAGE);
  const durationMs = values.duration === undefined ? undefined : durationOption('duration', values.duration, MCAST_USAGE);
  const graceMs = durationOption('grace', values.grace, MCAST_USAGE);

  const events = openEventSink(values.events);
  try {
    return await runMcastPeer({
      id,
      listen,
      peers,
      count,
      intervalMs,
      connectTimeoutMs,
      durationMs,
      graceMs,
      out: values.out ?? `delivered-${id}.jsonl`,
      events,
      human: humanOutput(events),
    });
  } finally {
    events.close();
  }
}

/** `2@host:9002,3@host:9003` → Map(2 → host:9002, 3 → host:9003); names the bad entry on error. */
export function parsePeers(value: string, self: number): Map<number, HostPort> {
  const peers = new Map<number, HostPort>();
  for (const raw of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)@(.+)$/.exec(raw);
    if (!m) throw new UsageError(`--peers: "${raw}" must look like id@host:port (e.g. 2@127.0.0.1:9002)`, MCAST_USAGE);
    const peer = Number(m[1]);
    if (peer === self) throw new UsageError(`--peers: "${raw}" has our own id ${self}; list only the other peers`, MCAST_USAGE);
    if (peers.has(peer)) throw new UsageError(`--peers: id ${peer} is listed twice`, MCAST_USAGE);
    const addr = parseHostPort(m[2]!, MCAST_USAGE, `--peers entry "${raw}"`);
    if (addr.port === 0) throw new UsageError(`--peers entry "${raw}": port 0 is not a destination`, MCAST_USAGE);
    peers.set(peer, addr);
  }
  return peers;
}
