/**
 * The grading contract's example implementations (lab/examples/mcast-python and mcast-python-broken)
 * as host processes on loopback, graded by acklab's own order checker (checkOrder + parseDelivered).
 * The correct one passes on a quiet network and behind slow, jittery links, and stops cleanly; the
 * broken one passes on a quiet network and FAILS behind one slow link, with the first divergence named.
 * Only Debian's python3 (standard library) and 127.0.0.1; no containers. Every process is killed after
 * each test, every proxy closed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkOrder, type CheckOrderResult } from '../../../src/programs/mcast/check-order.js';
import { parseDelivered, type DeliveredRecord } from '../../../src/programs/mcast/delivered.js';
import { DelayProxy, seededRandom, type Delay } from './delay-proxy.js';
import { freePort, killAll, ROOT, spawnProc, SYSTEM_PYTHON, tempDir, type Proc } from './helpers.js';

const CORRECT = join(ROOT, 'lab/examples/mcast-python/mcast.py');
const BROKEN = join(ROOT, 'lab/examples/mcast-python-broken/mcast.py');

interface McastSummary {
  id: number;
  complete: boolean;
  reason: string;
  sent: number;
  delivered: number;
  expected: number;
  peersLost: { peer: number; reason: string }[];
  rejectedLines: number;
}

interface Event {
  ts: number;
  event: string;
  [field: string]: unknown;
}

interface Group {
  procs: Proc[];
  outs: string[];
  events: string[];
}

let dir: string;
let proxies: DelayProxy[] = [];

beforeAll(async () => {
  dir = await tempDir('mcast-python');
});
afterEach(async () => {
  await killAll();
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});
afterAll(killAll);

/** Link delays, by "from->to" member ids; links not named are direct (no proxy at all). */
type Links = Record<string, Delay>;

/**
 * Starts members 1..n of `program` on loopback. With `links`, every member reaches every other through
 * its own DelayProxy (from→to delayed by links["from->to"], replies by links["to->from"]).
 */
async function startGroup(program: string, tag: string, opts: { n?: number; count: number; intervalMs: number; links?: Links; seed?: number; env?: Record<string, string> }): Promise<Group> {
  const n = opts.n ?? 3;
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const ports = await Promise.all(ids.map(() => freePort()));
  const random = seededRandom(opts.seed ?? 1);
  const none: Delay = { baseMs: 0, jitterMs: 0 };
  const address = async (from: number, to: number): Promise<string> => {
    if (!opts.links) return `127.0.0.1:${ports[to - 1]}`;
    const proxy = await DelayProxy.start({ target: ports[to - 1]!, forward: opts.links[`${from}->${to}`] ?? none, backward: opts.links[`${to}->${from}`] ?? none, random });
    proxies.push(proxy);
    return `127.0.0.1:${proxy.port}`;
  };
  const outs = ids.map((id) => join(dir, `${tag}-delivered-${id}.jsonl`));
  const events = ids.map((id) => join(dir, `${tag}-events-${id}.ndjson`));
  const procs: Proc[] = [];
  // Highest id first: the lower ids dial, so they must retry until the others listen.
  for (const id of [...ids].reverse()) {
    const peers: string[] = [];
    for (const other of ids) if (other !== id) peers.push(`${other}@${await address(id, other)}`);
    procs[id - 1] = spawnProc(SYSTEM_PYTHON, ['-u', program], {
      label: `${tag} member ${id}`,
      env: {
        ACKLAB_ID: String(id),
        ACKLAB_LISTEN_PORT: String(ports[id - 1]),
        ACKLAB_PEERS: peers.join(','),
        ACKLAB_COUNT: String(opts.count),
        ACKLAB_INTERVAL_MS: String(opts.intervalMs),
        ACKLAB_OUT: outs[id - 1]!,
        ACKLAB_EVENTS: events[id - 1]!,
        MCAST_CONNECT_TIMEOUT_MS: '20000',
        ...opts.env,
      },
    });
  }
  return { procs, outs, events };
}

function delivered(g: Group): DeliveredRecord[][] {
  return g.outs.map((f) => parseDelivered(readFileSync(f, 'utf8'), f));
}

function grade(g: Group, expected?: number): CheckOrderResult {
  return checkOrder(
    delivered(g).map((records, i) => ({ name: `member ${i + 1}`, records })),
    expected === undefined ? {} : { expected },
  );
}

function readEvents(file: string): Event[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
}

async function exitCodes(g: Group, timeoutMs = 30_000): Promise<(number | null)[]> {
  return (await Promise.all(g.procs.map((p) => p.waitExit(timeoutMs)))).map((e) => e.code);
}

/** 1→3 is slow (+500 ms, more than the broken program's 200 ms ack timeout); every link jitters 0–30 ms. */
const SLOW_LINK: Links = {
  '1->2': { baseMs: 0, jitterMs: 30 },
  '2->1': { baseMs: 0, jitterMs: 30 },
  '1->3': { baseMs: 500, jitterMs: 30 },
  '3->1': { baseMs: 0, jitterMs: 30 },
  '2->3': { baseMs: 0, jitterMs: 30 },
  '3->2': { baseMs: 0, jitterMs: 30 },
};

describe('mcast-python (correct): the textbook algorithm', () => {
  it('3 members × 10 messages on a quiet network: complete, one total order, events per the contract', async () => {
    const g = await startGroup(CORRECT, 'quiet', { count: 10, intervalMs: 20 });
    const codes = await exitCodes(g);
    codes.forEach((c, i) => expect(c, g.procs[i]!.output.slice(-2000)).toBe(0));
    const result = grade(g, 30);
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    for (const records of delivered(g)) {
      for (const id of [1, 2, 3]) expect(records.filter((r) => r.sender === id).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
    for (const p of g.procs) expect(p.summary<McastSummary>()).toMatchObject({ complete: true, sent: 10, delivered: 30, expected: 30, peersLost: [], rejectedLines: 0 });

    // Events: the contract's fields, and every send stamped no later than any receipt of it.
    const events = g.events.map(readEvents);
    const sentAt = new Map<string, number>();
    events.forEach((list, i) => {
      const sent = list.filter((e) => e.event === 'mcast_sent');
      expect(sent.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, k) => k + 1));
      for (const e of sent) {
        expect(Object.keys(e).sort()).toEqual(['event', 'lamport', 'seq', 'ts']);
        sentAt.set(`${i + 1}:${e.seq}`, e.ts);
      }
      const deliveredEvents = list.filter((e) => e.event === 'delivered');
      expect(deliveredEvents.map((e) => e.position)).toEqual(Array.from({ length: 30 }, (_, k) => k + 1));
      expect(list.filter((e) => e.event === 'mcast_ack')).toHaveLength(40); // 20 messages from others × 2 other receivers
      for (const e of list.filter((x) => x.event === 'mcast_ack')) expect(Object.keys(e).sort()).toEqual(['event', 'from', 'lamport', 'sender', 'seq', 'ts']);
    });
    for (const list of events) {
      for (const e of list.filter((x) => x.event === 'mcast_received')) {
        expect(Object.keys(e).sort()).toEqual(['event', 'lamport', 'sender', 'seq', 'ts']);
        expect(e.ts).toBeGreaterThanOrEqual(sentAt.get(`${e.sender}:${e.seq}`)!);
      }
    }
  });

  it('behind a slow, jittery link (1→3 +500 ms, all ±30 ms): still complete and in one total order', async () => {
    const g = await startGroup(CORRECT, 'slow', { count: 10, intervalMs: 50, links: SLOW_LINK, seed: 1 });
    const codes = await exitCodes(g);
    codes.forEach((c, i) => expect(c, g.procs[i]!.output.slice(-2000)).toBe(0));
    expect(grade(g, 30).problems).toEqual([]);
  });

  it('a member that goes silent (SIGSTOP) is reported lost; the others stop with agreeing prefixes', async () => {
    const g = await startGroup(CORRECT, 'silent', { count: 500, intervalMs: 20, env: { MCAST_SILENCE_MS: '1500', MCAST_GRACE_MS: '1000' } });
    await g.procs[2]!.waitFor(/Delivered .* #10\b/, 20_000);
    g.procs[2]!.kill('SIGSTOP'); // its sockets stay open: silence, not a closed connection
    const t0 = Date.now();
    const [a, b] = await Promise.all([g.procs[0]!.waitExit(15_000), g.procs[1]!.waitExit(15_000)]);
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const [i, e] of [a, b].entries()) {
      const s = g.procs[i]!.summary<McastSummary>();
      expect(e.code, g.procs[i]!.output.slice(-1500)).toBe(3);
      expect(s.complete).toBe(false);
      // The other survivor may also see this one stop (an incomplete member leaves without bye).
      expect(s.peersLost).toContainEqual({ peer: 3, reason: expect.stringMatching(/silent for 1500 ms/) });
      expect(s.reason).toMatch(/^member\(s\) [\d, ]*\b3 lost; nothing arrived for 1000 ms/);
      expect(readEvents(g.events[i]!).find((x) => x.event === 'peer_lost' && x.peer === 3)).toMatchObject({ reason: expect.stringMatching(/^silent/) });
    }
    g.procs[2]!.kill('SIGKILL');
    // Prefix agreement: the survivors' sequences agree as far as the shorter one goes.
    const [s1, s2] = delivered(g);
    const n = Math.min(s1!.length, s2!.length);
    expect(n).toBeGreaterThanOrEqual(10);
    expect(checkOrder([{ name: 'member 1', records: s1!.slice(0, n) }, { name: 'member 2', records: s2!.slice(0, n) }]).problems).toEqual([]);
  });

  it('SIGTERM: every member flushes its delivered file and exits 3 (incomplete); the files agree as prefixes', async () => {
    const g = await startGroup(CORRECT, 'sigterm', { count: 1000, intervalMs: 10 });
    await Promise.all(g.procs.map((p) => p.waitFor(/Delivered .* #20\b/, 20_000)));
    for (const p of g.procs) p.kill('SIGTERM');
    const codes = await exitCodes(g, 10_000);
    expect(codes).toEqual([3, 3, 3]);
    const seqs = delivered(g);
    for (const [i, p] of g.procs.entries()) {
      expect(p.output).toMatch(/Stopping on SIGTERM/);
      const s = p.summary<McastSummary & { notReceived: Record<string, string> }>();
      expect(s).toMatchObject({ complete: false, reason: 'stopped by SIGTERM', delivered: seqs[i]!.length });
      // What never arrived is given as ranges ("21-1000"), not one number per message.
      for (const missing of Object.values(s.notReceived)) expect(missing).toMatch(/^\d+(-\d+)?(,\d+(-\d+)?)*$/);
    }
    const n = Math.min(...seqs.map((s) => s.length));
    expect(n).toBeGreaterThanOrEqual(20);
    expect(checkOrder(seqs.map((records, i) => ({ name: `member ${i + 1}`, records: records.slice(0, n) }))).problems).toEqual([]);
  });

  it('a bad environment is refused with exit 2, naming the variable', async () => {
    const p = spawnProc(SYSTEM_PYTHON, ['-u', CORRECT], { env: { ACKLAB_ID: '1', ACKLAB_LISTEN_PORT: '1', ACKLAB_PEERS: '2@nohost', ACKLAB_COUNT: '1', ACKLAB_INTERVAL_MS: '1', ACKLAB_OUT: join(dir, 'x') } });
    expect((await p.waitExit()).code).toBe(2);
    expect(p.stderr).toMatch(/ACKLAB_PEERS: '2@nohost' must look like id@host:port/);
  });
});

describe('mcast-python-broken: delivers a head whose acks are late (200 ms timeout)', () => {
  it('passes a quiet run: 3 members × 10 messages, complete and in one total order', async () => {
    const g = await startGroup(BROKEN, 'broken-quiet', { count: 10, intervalMs: 20 });
    const codes = await exitCodes(g);
    codes.forEach((c, i) => expect(c, g.procs[i]!.output.slice(-2000)).toBe(0));
    expect(grade(g, 30).problems).toEqual([]);
  });

  it('FAILS behind a slow link (1→3 +500 ms): the checker names the first divergence', async () => {
    // The bug shows whenever an ack takes longer than 200 ms; +500 ms on 1→3 makes that every message
    // at member 3. Up to three jitter seeds, in case one run were ever to slip through.
    let failed: { seed: number; result: CheckOrderResult; g: Group } | undefined;
    for (const seed of [1, 2, 3]) {
      const g = await startGroup(BROKEN, `broken-slow-${seed}`, { count: 10, intervalMs: 50, links: SLOW_LINK, seed });
      const codes = await exitCodes(g);
      // It does not crash or hang, and it is "complete": only the order gives it away.
      codes.forEach((c, i) => expect(c, g.procs[i]!.output.slice(-2000)).toBe(0));
      const result = grade(g, 30);
      if (!result.ok) {
        failed = { seed, result, g };
        break;
      }
      await killAll();
    }
    expect(failed, 'the broken implementation passed behind a 500 ms link with every seed').toBeDefined();
    const { result, seed } = failed!;
    console.log(`mcast-python-broken, slow link 1→3 +500 ms (seed ${seed}):\n  ${result.problems.slice(0, 4).join('\n  ')}`);
    expect(result.problems[0]).toMatch(
      /^first divergence at position \d+: member \d has \(lamport=\d+, sender=\d, seq=\d+\) but member \d has \(lamport=\d+, sender=\d, seq=\d+\)$/,
    );
    // Member 3, behind the slow link, delivered out of (timestamp, sender) order.
    expect(result.problems.some((p) => /^member 3: position \d+ \(lamport=\d+, sender=\d, seq=\d+\) is not after position \d+ /.test(p))).toBe(true);
  });
});
