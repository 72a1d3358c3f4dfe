import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkOrder, checkOrderFiles, readDeliveredFile } from '../../../src/programs/mcast/index.js';
import type { McastSummary } from '../../../src/programs/mcast/peer.js';
import { freePort, killAll, program, requireBuild, tempDir, type Proc } from './helpers.js';

let dir: string;
beforeAll(async () => {
  requireBuild();
  dir = await tempDir('mcast');
});
afterEach(killAll);
afterAll(killAll);

interface Group {
  procs: Proc[];
  outs: string[];
  ports: number[];
}

async function startGroup(n: number, extra: string[], tag: string, ids = Array.from({ length: n }, (_, i) => i + 1)): Promise<Group> {
  const ports = await Promise.all(ids.map(() => freePort()));
  const outs = ids.map((id) => join(dir, `${tag}-delivered-${id}.jsonl`));
  // Start in reverse id order, so the dialers (lower ids) must retry until the higher ids listen.
  const order = ids.map((_, i) => i).reverse();
  const procs: Proc[] = [];
  for (const i of order) {
    const peers = ids.filter((_, j) => j !== i).map((id) => `${id}@127.0.0.1:${ports[ids.indexOf(id)]}`).join(',');
    procs[i] = program('acklab-mcast', [
      '--id', String(ids[i]), '--listen', `127.0.0.1:${ports[i]}`, '--peers', peers, '--out', outs[i]!,
      '--events', join(dir, `${tag}-events-${ids[i]}.ndjson`), '--connect-timeout', '20s', ...extra,
    ]);
    // Each peer listens before the next (lower) one starts dialing it.
    await procs[i].waitFor(/listening on/);
  }
  return { procs, outs, ports };
}

describe('acklab-mcast on loopback', () => {
  it.each([
    [3, 10],
    [5, 8],
  ])('%i peers × %i messages deliver identical complete sequences', async (n, count) => {
    const g = await startGroup(n, ['--count', String(count), '--interval', '20ms'], `full${n}`);
    const exits = await Promise.all(g.procs.map((p) => p.waitExit(60_000)));
    exits.forEach((e, i) => expect(e.code, g.procs[i]!.output.slice(-2000)).toBe(0));
    const result = checkOrderFiles(g.outs, { expected: n * count });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
    for (const p of g.procs) {
      const s = p.summary<McastSummary>();
      expect(s).toMatchObject({ complete: true, sent: count, delivered: n * count, undelivered: 0, peersLost: [], rejectedLines: 0 });
      expect(s.acksReceived).toBe((n - 1) * count * (n - 1)); // every message, acked by each other receiver
      expect(p.output).toMatch(/Mesh complete: linked to peers/);
    }
    // Each sender's messages appear in seq order, and every (sender, seq) exactly once.
    const seq = readDeliveredFile(g.outs[0]!);
    for (let id = 1; id <= n; id++) {
      expect(seq.filter((r) => r.sender === id).map((r) => r.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    }
    const events = readFileSync(join(dir, `full${n}-events-1.ndjson`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.filter((e) => e.event === 'delivered')).toHaveLength(n * count);
    expect(events.find((e) => e.event === 'mesh_complete')).toMatchObject({ peers: Array.from({ length: n - 1 }, (_, i) => i + 2) });
  });

  it('a frozen peer (SIGSTOP) is suspected after --grace of silence; the others stop with what they delivered', async () => {
    const g = await startGroup(3, ['--count', '200', '--interval', '20ms', '--grace', '1s'], 'frozen');
    await g.procs[0]!.waitFor(/Delivered .* #10\b/, 20_000);
    g.procs[2]!.kill('SIGSTOP');
    const t0 = Date.now();
    const exits = await Promise.all([g.procs[0]!.waitExit(20_000), g.procs[1]!.waitExit(20_000)]);
    // silence (1 s) makes it a suspect, quiescence (1 s more) ends the run: no waiting for ever
    expect(Date.now() - t0).toBeLessThan(10_000);
    for (const [i, e] of exits.entries()) {
      const p = g.procs[i]!;
      expect(e.code, p.output.slice(-2000)).toBe(3);
      const s = p.summary<McastSummary>();
      expect(s.peersLost).toContainEqual({ peer: 3, reason: expect.stringMatching(/^silent for \d+ ms \(--grace 1000 ms\): frozen, crashed or cut off$/) });
      expect(s.undelivered).toBeGreaterThan(0);
    }
    g.procs[2]!.kill('SIGKILL');
  });

  it('a peer frozen for less than --grace is not lost: the group completes', async () => {
    const g = await startGroup(3, ['--count', '40', '--interval', '20ms', '--grace', '3s'], 'pause');
    await g.procs[0]!.waitFor(/Delivered .* #10\b/, 20_000);
    g.procs[1]!.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000)); // the freeze itself: a second, well under --grace
    g.procs[1]!.kill('SIGCONT');
    const exits = await Promise.all(g.procs.map((p) => p.waitExit(30_000)));
    for (const [i, e] of exits.entries()) expect(e.code, g.procs[i]!.output.slice(-1500)).toBe(0);
    for (const p of g.procs) expect(p.summary<McastSummary>().peersLost).toEqual([]);
  });

  it('stamps every send before it is written and every receive as it is read, with the Lamport clocks', async () => {
    const n = 3;
    const g = await startGroup(n, ['--count', '15', '--interval', '5ms'], 'stamps');
    const exits = await Promise.all(g.procs.map((p) => p.waitExit(60_000)));
    exits.forEach((e, i) => expect(e.code, g.procs[i]!.output.slice(-2000)).toBe(0));
    const events = [1, 2, 3].map((id) => readFileSync(join(dir, `stamps-events-${id}.ndjson`), 'utf8').trim().split('\n').map((l) => JSON.parse(l)));
    const sentAt = new Map<string, number>();
    const ackSentAt = new Map<string, { ts: number; lamport: number }>();
    events.forEach((list, i) => {
      for (const e of list) {
        if (e.event === 'mcast_sent') sentAt.set(`${i + 1}:${e.seq}`, e.ts);
        if (e.event === 'mcast_ack_sent') ackSentAt.set(`${i + 1}/${e.sender}:${e.seq}`, { ts: e.ts, lamport: e.lamport });
      }
    });
    expect(ackSentAt.size).toBe(n * 15 * (n - 1)); // every member ACKs every message of the others
    for (const list of events) {
      list.forEach((e, k) => {
        if (e.event === 'mcast_received') {
          expect(e.ts).toBeGreaterThanOrEqual(sentAt.get(`${e.sender}:${e.seq}`)!);
          expect(e.clock).toBeGreaterThan(e.lamport);
          // the ACK is stamped right after the receive, one tick later
          expect(list[k + 1]).toMatchObject({ event: 'mcast_ack_sent', sender: e.sender, seq: e.seq, lamport: e.clock + 1 });
        } else if (e.event === 'mcast_ack') {
          const sent = ackSentAt.get(`${e.from}/${e.sender}:${e.seq}`)!;
          expect(e.ts).toBeGreaterThanOrEqual(sent.ts);
          expect(e.lamport).toBe(sent.lamport);
          expect(e.clock).toBeGreaterThan(e.lamport);
        }
      });
    }
  });

  it('a peer killed mid-run leaves the others reporting what was not delivered, without hanging', async () => {
    const g = await startGroup(3, ['--count', '200', '--interval', '20ms', '--grace', '1s'], 'dying');
    await g.procs[0]!.waitFor(/Delivered .* #10\b/, 20_000);
    g.procs[2]!.kill('SIGKILL');
    const t0 = Date.now();
    const exits = await Promise.all([g.procs[0]!.waitExit(20_000), g.procs[1]!.waitExit(20_000)]);
    expect(Date.now() - t0).toBeLessThan(15_000);
    for (const [i, e] of exits.entries()) {
      const p = g.procs[i]!;
      expect(e.code, p.output.slice(-2000)).toBe(3);
      const s = p.summary<McastSummary>();
      expect(s.complete).toBe(false);
      // 3 is lost first (its socket closed: a read sees the reset, or a write the broken pipe); the other
      // survivor may also see this one stop (incomplete peers leave without bye).
      expect(s.peersLost[0]).toMatchObject({ peer: 3, reason: expect.stringMatching(/without bye|ECONNRESET|EPIPE/) });
      expect(s.undelivered).toBe(600 - s.delivered);
      expect(s.undelivered).toBeGreaterThan(0);
      expect(s.notReceived['3']).toMatch(/^\d+-200$/);
      expect(s.reason).toMatch(/peer\(s\) 3\b.* lost; nothing received for 1000 ms/);
      if (s.undeliveredMessages.length) expect(s.undeliveredMessages[0]!.why).toMatch(/missing acks from peer\(s\) .*3|waiting behind/);
    }
    // The survivors agree on what they did deliver: one sequence is a prefix of the other.
    const [a, b] = [readDeliveredFile(g.outs[0]!), readDeliveredFile(g.outs[1]!)];
    const n = Math.min(a.length, b.length);
    expect(n).toBeGreaterThanOrEqual(10);
    expect(checkOrder([{ name: 'peer1', records: a.slice(0, n) }, { name: 'peer2', records: b.slice(0, n) }]).problems).toEqual([]);
  });

  it('acklab check-order agrees on real output and names the first divergence of a tampered file', async () => {
    const g = await startGroup(3, ['--count', '4', '--interval', '10ms'], 'cli');
    await Promise.all(g.procs.map((p) => p.waitExit(60_000)));
    const ok = program('acklab', ['check-order', '--expect', '12', ...g.outs]);
    expect((await ok.waitExit()).code, ok.output).toBe(0);
    expect(ok.stdout).toMatch(/order check OK: 3 file\(s\) agree on the same 12 deliveries, each exactly once/);
    const lines = readFileSync(g.outs[2]!, 'utf8').trim().split('\n');
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    const tampered = join(dir, 'cli-tampered.jsonl');
    writeFileSync(tampered, `${lines.join('\n')}\n`);
    const bad = program('acklab', ['check-order', g.outs[0]!, tampered]);
    expect((await bad.waitExit()).code).toBe(1);
    expect(bad.stderr).toMatch(/first divergence at position 5: .* but .*cli-tampered\.jsonl has/);
  });

  it('--duration stops every peer with what it has (exit 3), reporting what is undelivered', async () => {
    const g = await startGroup(3, ['--count', '1000', '--interval', '50ms', '--duration', '2s', '--grace', '5s'], 'duration');
    const exits = await Promise.all(g.procs.map((p) => p.waitExit(30_000)));
    for (const [i, e] of exits.entries()) {
      expect(e.code, g.procs[i]!.output.slice(-1500)).toBe(3);
      const s = g.procs[i]!.summary<McastSummary>();
      expect(s.complete).toBe(false);
      expect(s.sent).toBeGreaterThan(0);
      expect(s.sent).toBeLessThan(1000);
      expect(s.undelivered).toBe(3000 - s.delivered);
    }
    // A stop by --duration (or a peer seen leaving early) is not a divergence: the survivors' common prefix agrees.
    const seqs = g.outs.map((f) => readDeliveredFile(f));
    const n = Math.min(...seqs.map((x) => x.length));
    expect(checkOrder(seqs.map((records, i) => ({ name: `peer${i + 1}`, records: records.slice(0, n) }))).problems).toEqual([]);
  });

  it('SIGTERM stops a peer with its summary (exit 3); the others see it lost and stop too', async () => {
    const g = await startGroup(3, ['--count', '1000', '--interval', '20ms', '--grace', '1s'], 'sigterm');
    await g.procs[1]!.waitFor(/Delivered .* #5\b/, 20_000);
    g.procs[1]!.kill('SIGTERM');
    const exits = await Promise.all(g.procs.map((p) => p.waitExit(20_000)));
    expect(exits.map((e) => e.code)).toEqual([3, 3, 3]);
    expect(g.procs[1]!.summary<McastSummary>().reason).toBe('stopped by SIGTERM');
    expect(g.procs[0]!.summary<McastSummary>().peersLost[0]).toMatchObject({ peer: 2 });
  });

  it('a stop signal while the mesh closes (peers cut off) still gets the summary out', async () => {
    const g = await startGroup(3, ['--count', '1000', '--interval', '50ms', '--duration', '3s', '--grace', '30s'], 'close-signal');
    await g.procs[0]!.waitFor(/Delivered .* #5\b/, 20_000);
    // Stopped peers keep their sockets open and silent, like a partition: peer 1's close then waits.
    g.procs[1]!.kill('SIGSTOP');
    g.procs[2]!.kill('SIGSTOP');
    try {
      await g.procs[0]!.waitFor(/Stopping: --duration/, 20_000);
      g.procs[0]!.kill('SIGTERM'); // what `acklab run` sends at the end of a run
      const exit = await g.procs[0]!.waitExit(10_000);
      expect(exit.code, g.procs[0]!.output.slice(-1500)).toBe(3);
      const s = g.procs[0]!.summary<McastSummary>();
      expect(s.reason).toBe('--duration 3000 ms elapsed');
      expect(s.undelivered).toBeGreaterThan(0);
    } finally {
      g.procs[1]!.kill('SIGCONT');
      g.procs[2]!.kill('SIGCONT');
    }
  });

  it('exits 1 at --connect-timeout naming the peers that never came up', async () => {
    const [p1, p2, p3] = await Promise.all([freePort(), freePort(), freePort()]);
    const alone = program('acklab-mcast', ['--id', '2', '--listen', `127.0.0.1:${p2}`, '--peers', `1@127.0.0.1:${p1},3@127.0.0.1:${p3}`, '--count', '3', '--connect-timeout', '1s', '--out', join(dir, 'alone.jsonl')]);
    expect((await alone.waitExit(15_000)).code).toBe(1);
    expect(alone.output).toMatch(/mesh incomplete after 1000 ms \(--connect-timeout\): no link to peer\(s\) 1 \(never dialed us from its side\), 3 \(dial 127\.0\.0\.1:\d+ failed: ECONNREFUSED/);
  });

  it('rejects malformed lines with a logged reason and refuses a connection that does not say hello', async () => {
    const port = await freePort();
    const peer2 = await freePort();
    const p = program('acklab-mcast', ['--id', '1', '--listen', `127.0.0.1:${port}`, '--peers', `0@127.0.0.1:${peer2}`, '--count', '1', '--connect-timeout', '3s', '--out', join(dir, 'lonely.jsonl')]);
    await p.waitFor(/listening on/);
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write('this is not json\n{"type":"msg","ts":1,"sender":0,"seq":1}\n'));
    s.on('error', () => {});
    await p.waitFor(/Rejected line from 127\.0\.0\.1:\d+: not JSON/);
    await p.waitFor(/Refusing connection from 127\.0\.0\.1:\d+: expected hello first, got msg/);
    s.destroy();
    expect((await p.waitExit(15_000)).code).toBe(1);
  });

  it('usage errors exit 2 and name the option', async () => {
    const p = program('acklab-mcast', ['--id', '1', '--listen', '9001', '--peers', '2@host']);
    expect((await p.waitExit()).code).toBe(2);
    expect(p.stderr).toMatch(/--peers entry "2@host": Ports must be integers/);
  });
});
