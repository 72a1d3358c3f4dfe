import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll, program, requireBuild, sleep, tempDir, type Proc } from './helpers.js';

let echo: Proc;
let port: number;
let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = await tempDir('echo');
  echo = program('acklab-echo', ['--port', '0', '--host', '127.0.0.1', '--events', join(dir, 'events.ndjson')]);
  port = Number((await echo.waitFor(/Echo server listening on 127\.0\.0\.1:(\d+)/))[1]);
});
afterAll(killAll);

/** Sends `payload` in a few writes, half-closes, and resolves with everything echoed until the server's FIN. */
function roundTrip(payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, async () => {
      const step = Math.ceil(payload.length / 4);
      for (let i = 0; i < payload.length; i += step) {
        s.write(payload.subarray(i, i + step));
        await sleep(1);
      }
      s.end();
    });
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

describe('acklab-echo on loopback', () => {
  it('echoes every byte, in order, on 200 concurrent connections that half-close', async () => {
    const payloads = Array.from({ length: 200 }, (_, i) => randomBytes(1000 + i * 37));
    const echoed = await Promise.all(payloads.map(roundTrip));
    echoed.forEach((e, i) => expect(e.equals(payloads[i]!), `connection ${i}`).toBe(true));
    // Every connect and close is reported (bounded wait: under load the server's lines lag our reads).
    for (let i = 0; i < 100 && echo.count(/^Disconnected from /) < 200; i++) await sleep(100);
    expect(echo.count(/^Connected from 127\.0\.0\.1:\d+$/)).toBe(200);
    expect(echo.count(/^Disconnected from 127\.0\.0\.1:\d+ connection closed cleanly$/)).toBe(200);
  });

  it('survives 100 abrupt resets (RST mid-stream) and keeps serving', async () => {
    const before = echo.count(/^Disconnected from /);
    await Promise.all(
      Array.from(
        { length: 100 },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect({ port, host: '127.0.0.1' }, () => {
              s.write(randomBytes(64 * 1024));
              setTimeout(() => {
                s.resetAndDestroy();
                resolve();
              }, 5);
            });
            s.on('error', () => resolve());
          }),
      ),
    );
    // Wait (bounded) for the server to notice all 100 closes; under load this can take a moment.
    for (let i = 0; i < 100 && echo.count(/^Disconnected from /) - before < 100; i++) await sleep(100);
    expect(echo.child.exitCode).toBeNull();
    expect(echo.count(/^Disconnected from /) - before).toBe(100);
    expect(echo.output).toMatch(/Disconnected from 127\.0\.0\.1:\d+ ECONNRESET/);
    const probe = randomBytes(5000);
    expect((await roundTrip(probe)).equals(probe)).toBe(true);
  });

  it('applies back-pressure to a client that never reads: bounded memory, others still served', async () => {
    const rssBefore = rssKiB(echo.pid);
    const hog = net.connect({ port, host: '127.0.0.1' });
    hog.pause(); // never read
    await new Promise<void>((r) => hog.once('connect', () => r()));
    const chunk = Buffer.alloc(256 * 1024, 7);
    let accepted = 0;
    const deadline = Date.now() + 2000;
    // Write only while the kernel takes data: once the echo server stops reading, this stalls.
    while (Date.now() < deadline && accepted < 512 * 1024 * 1024) {
      if (hog.write(chunk)) accepted += chunk.length;
      else await Promise.race([new Promise((r) => hog.once('drain', r)), sleep(200)]);
    }
    const rssAfter = rssKiB(echo.pid);
    expect(accepted).toBeLessThan(128 * 1024 * 1024);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 1024);
    const probe = randomBytes(2000);
    expect((await roundTrip(probe)).equals(probe)).toBe(true);
    hog.destroy();
  });

  it('writes NDJSON events and exits 0 on SIGTERM', async () => {
    echo.kill('SIGTERM');
    expect((await echo.waitExit()).code).toBe(0);
    const events = readFileSync(join(dir, 'events.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'listening', program: 'acklab-echo', port });
    expect(typeof events[0].ts).toBe('number');
    expect(events.filter((e) => e.event === 'connected').length).toBeGreaterThanOrEqual(302);
    const resets = events.filter((e) => e.event === 'disconnected' && /ECONNRESET/.test(e.reason));
    expect(resets.length).toBeGreaterThanOrEqual(100);
    expect(events.at(-1)).toMatchObject({ event: 'summary', program: 'acklab-echo' });
  });
});

describe('acklab-echo --workers 2 (node:cluster on one port)', () => {
  it('echoes on 200 concurrent connections across worker processes, shares one events file, stops cleanly', async () => {
    const events = join(dir, 'events-workers.ndjson');
    const multi = program('acklab-echo', ['--port', '0', '--host', '127.0.0.1', '--workers', '2', '--events', events]);
    const p = Number((await multi.waitFor(/Echo server listening on 127\.0\.0\.1:(\d+) \(2 worker processes\)/))[1]);
    const savedPort = port;
    port = p;
    try {
      const payloads = Array.from({ length: 200 }, (_, i) => randomBytes(500 + i * 11));
      const echoed = await Promise.all(payloads.map(roundTrip));
      echoed.forEach((e, i) => expect(e.equals(payloads[i]!), `connection ${i}`).toBe(true));
    } finally {
      port = savedPort;
    }
    multi.kill('SIGTERM');
    expect((await multi.waitExit()).code).toBe(0);
    const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const connected = lines.filter((e) => e.event === 'connected');
    expect(connected).toHaveLength(200);
    expect(new Set(connected.map((e) => e.conn)).size).toBe(200); // conn ids unique across workers
    expect(lines.at(-1)).toMatchObject({ event: 'summary', summary: { connections: 200, workers: 2 } });
  });
});
