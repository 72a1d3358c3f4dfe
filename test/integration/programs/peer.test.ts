import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerClientSummary } from '../../../src/programs/peer/client.js';
import { freePort, killAll, program, requireBuild, sleep, tempDir, type Proc } from './helpers.js';

let dir: string;

beforeAll(async () => {
  requireBuild();
  dir = await tempDir('peer');
});
afterEach(killAll);
afterAll(killAll);

async function startServer(port = 0, extra: string[] = []): Promise<{ server: Proc; port: number }> {
  const server = program('acklab-peer', ['server', `127.0.0.1:${port}`, ...extra]);
  const bound = Number((await server.waitFor(/Starting server @127\.0\.0\.1 port (\d+)/))[1]);
  return { server, port: bound };
}

/** A raw client: sends `bytes` in one write and collects what comes back until the server closes. */
function raw(port: number, bytes: string, holdMs = 500): Promise<{ received: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    let received = '';
    let closedByServer = false;
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.write(bytes));
    s.setEncoding('latin1');
    s.on('data', (d: string) => (received += d));
    s.on('end', () => (closedByServer = true));
    s.on('error', () => (closedByServer = true));
    const t = setTimeout(() => s.destroy(), holdMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ received, closedByServer });
    });
  });
}

describe('acklab-peer on loopback', () => {
  it('a server with two clients: exact ack counts at a 50 ms interval, one log record per update', async () => {
    const log = join(dir, 'server.log');
    const { server, port } = await startServer(0, ['--log', log]);
    const clients = [0, 1].map(() => program('acklab-peer', ['client', `127.0.0.1:${port}`, '--interval', '50ms', '--count', '20']));
    const exits = await Promise.all(clients.map((c) => c.waitExit(30_000)));
    for (const [i, c] of clients.entries()) {
      expect(exits[i]!.code, c.output).toBe(0);
      const s = c.summary<PeerClientSummary>();
      expect(s).toMatchObject({ updatesSent: 20, acksReceived: 20, acksOutstanding: 0, unmatchedAcks: 0, connectionsMade: 1, connectionsLost: 0, completed: true });
      expect(s.ackRttMs.p50).toBeGreaterThan(0);
      expect(s.ackRttMs.max).toBeGreaterThanOrEqual(s.ackRttMs.p99!);
      expect(c.count(/^Sending update$/)).toBe(20);
      expect(c.count(/^Client received <Ack>$/)).toBe(20);
      expect(c.count(/^Client received <connection up>$/)).toBe(1);
      expect(c.output).toMatch(/^Received 20 acks$/m);
    }
    expect(await server.waitForCount(/^Server received <update>$/, 40)).toBe(40);
    expect(server.count(/^Connected from 127\.0\.0\.1:\d+$/)).toBe(2);
    server.kill('SIGTERM');
    expect((await server.waitExit()).code).toBe(0);
    expect(server.summary()).toMatchObject({ role: 'server', connections: 2, updatesReceived: 40, acksSent: 40, protocolErrors: 0 });
    const records = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toHaveLength(40);
    expect(records[0]).toMatchObject({ conn: expect.any(Number), seq: 1, peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  it('acks each of three coalesced updates (one read), and reassembles a split one', async () => {
    const { port } = await startServer();
    const coalesced = await raw(port, '<update><update><update>');
    expect(coalesced.received).toBe('<connection up><Ack><Ack><Ack>');
    const split = await new Promise<string>((resolve) => {
      let got = '';
      const s = net.connect({ port, host: '127.0.0.1' }, async () => {
        s.write('<upd');
        await sleep(100);
        s.write('ate>');
        await sleep(200);
        s.end();
      });
      s.setEncoding('latin1');
      s.on('data', (d: string) => (got += d));
      s.on('close', () => resolve(got));
    });
    expect(split).toBe('<connection up><Ack>');
  });

  it('closes a connection that sends garbage or an oversized token, logs why, and keeps serving others', async () => {
    const { server, port } = await startServer();
    const garbage = await raw(port, '<update>hello world', 3000);
    expect(garbage.closedByServer).toBe(true);
    expect(garbage.received).toBe('<connection up><Ack>');
    await server.waitFor(/Protocol error from 127\.0\.0\.1:\d+: garbage: unexpected byte "h"/);
    const oversized = await raw(port, `<${'x'.repeat(500)}`, 3000);
    expect(oversized.closedByServer).toBe(true);
    await server.waitFor(/Protocol error from 127\.0\.0\.1:\d+: oversized token/);
    const wrongToken = await raw(port, '<Ack>', 3000);
    expect(wrongToken.closedByServer).toBe(true);
    await server.waitFor(/unexpected token <Ack> from a client/);
    const ok = program('acklab-peer', ['client', `127.0.0.1:${port}`, '--interval', '20ms', '--count', '3']);
    expect((await ok.waitExit()).code).toBe(0);
    expect(ok.summary()).toMatchObject({ acksReceived: 3 });
    server.kill('SIGTERM');
    await server.waitExit();
    expect(server.summary()).toMatchObject({ protocolErrors: 3, updatesReceived: 4 });
  });

  it('exits 1 with "Failed to connect to:" when nothing listens', async () => {
    const port = await freePort();
    const c = program('acklab-peer', ['client', `127.0.0.1:${port}`, '--interval', '50ms', '--count', '3']);
    expect((await c.waitExit()).code).toBe(1);
    expect(c.output).toMatch(new RegExp(`^Failed to connect to: 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED`, 'm'));
    expect(c.output).toMatch(/^Received 0 acks$/m);
    expect(c.summary()).toMatchObject({ completed: false, connectionsMade: 0, updatesSent: 0 });
  });

  it('exits 1 when the connection is lost mid-run, and --reconnect recovers with per-connection counts', async () => {
    const port = await freePort();
    let { server } = await startServer(port);
    const plain = program('acklab-peer', ['client', `127.0.0.1:${port}`, '--interval', '50ms', '--count', '1000']);
    const resilient = program('acklab-peer', ['client', `127.0.0.1:${port}`, '--interval', '50ms', '--duration', '4s', '--reconnect']);
    await server.waitFor(/(Server received <update>\n[^]*){6}/);
    server.kill('SIGKILL');
    await server.waitExit();
    expect((await plain.waitExit()).code).toBe(1);
    expect(plain.output).toMatch(/^Lost connection\. Reason: /m);
    expect(plain.summary()).toMatchObject({ completed: false, connectionsLost: 1 });
    // The resilient client has seen the loss and is backing off before the server comes back.
    await resilient.waitFor(/Reconnecting in \d+ ms/);
    ({ server } = await startServer(port));
    expect((await resilient.waitExit(20_000)).code, resilient.output).toBe(0);
    const s = resilient.summary<PeerClientSummary>();
    expect(s.connectionsMade).toBe(2);
    expect(s.connectionsLost).toBe(1);
    expect(s.perConnection).toHaveLength(2);
    expect(s.perConnection[0]!.lost).toBeDefined();
    expect(s.perConnection[1]!.updatesSent).toBeGreaterThan(0);
    expect(s.perConnection[1]!.acksReceived).toBe(s.perConnection[1]!.updatesSent);
    expect(s.updatesSent).toBe(s.perConnection[0]!.updatesSent + s.perConnection[1]!.updatesSent);
    expect(resilient.output).toMatch(/Reconnecting in \d+ ms/);
  });

  it.each([
    [['client'], /expected 2 arguments/],
    [['client', 'localhost:http'], /Ports must be integers/],
    [['browser', '8888'], /peer type must be "client" or "server"/],
    [['client', '8888', '--interval', 'soon'], /--interval/],
    [['server', '8888', '--count', '3'], /--count applies to the client only/],
    [['client', '8888', '--bogus'], /Unknown option '--bogus'/],
  ])('usage error for %j: exit 2 with the usage text', async (args, message) => {
    const p = program('acklab-peer', args);
    expect((await p.waitExit()).code).toBe(2);
    expect(p.stderr).toMatch(message);
    expect(p.stderr).toMatch(/usage: acklab-peer \[options\] \[client\|server\] \[hostname\]:port/);
  });
});
