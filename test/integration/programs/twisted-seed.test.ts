/**
 * The seed as the lab runs it (docker/twisted/, Python 3 ports on Debian's python3-twisted), checked on
 * loopback for the quirks acklab must know to compare counts: one <Ack> per read (coalesced updates get
 * one), the client counting every read (the <connection up> greeting too), the server on 8888 whatever
 * port it is given, "Received N acks" still printed when the client is stopped with SIGTERM, and
 * PEER_INTERVAL (the one deviation). The peer server can only listen on 127.0.0.1:8888 and the echo
 * server on 8881, so this file must not run alongside interop-twisted.test.ts or bench:echo (the
 * integration project runs files one at a time). Needs python3-twisted, like interop-twisted.test.ts.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isPortFree, killAll, python, sleep, SYSTEM_PYTHON, tempDir } from './helpers.js';

const twisted = spawnSync(SYSTEM_PYTHON, ['-c', 'import twisted'], { encoding: 'utf8' });
const skip = twisted.status !== 0 && process.env.ACKLAB_SKIP_TWISTED === '1';
if (skip) console.warn('SKIPPED the Twisted seed tests (ACKLAB_SKIP_TWISTED=1): python3-twisted is missing');

/** A raw loopback client: every byte received, and a way to wait on it. */
class RawClient {
  received = '';
  private readonly socket: net.Socket;
  readonly closed: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.setEncoding('latin1').on('data', (d: string) => (this.received += d));
    this.socket.on('error', () => {});
    this.closed = new Promise((r) => this.socket.once('close', () => r()));
  }

  write(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'));
  }

  async waitFor(predicate: (received: string) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms; received so far: ${JSON.stringify(this.received)}`);
      await sleep(10);
    }
  }

  end(): void {
    this.socket.end();
  }
}

const count = (text: string, token: string) => text.split(token).length - 1;

async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortFree(port)) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

describe.skipIf(skip)('the seed in the lab: docker/twisted on loopback', () => {
  let dir: string;
  beforeAll(async () => {
    if (twisted.status !== 0) throw new Error(`python3-twisted is MISSING (${SYSTEM_PYTHON} cannot import twisted): apt-get install -y python3-twisted, or ACKLAB_SKIP_TWISTED=1 to skip`);
    dir = await tempDir('twisted-seed');
  });
  afterEach(killAll);
  afterAll(killAll);

  it('peer server: on 8888 whatever port it is given; two <update>s in one write get ONE <Ack> (one per read)', async () => {
    if (!(await isPortFree(8888))) throw new Error('127.0.0.1:8888 is busy; the seed server can only listen there');
    const server = python('peer.py', ['server', '127.0.0.1:4321'], { cwd: dir });
    await server.waitFor(/^Starting server @127\.0\.0\.1 port 4321$/m);
    await waitListening(8888);
    const client = new RawClient(8888);
    await client.waitFor((r) => r === '<connection up>', 'greeting');
    client.write('<update><update>'); // one write, one segment on loopback: one read at the server
    await server.waitFor(/^Server received <update><update>$/m);
    await client.waitFor((r) => count(r, '<Ack>') === 1, 'first <Ack>');
    client.write('<update>');
    await client.waitFor((r) => count(r, '<Ack>') === 2, 'second <Ack>');
    client.end();
    await client.closed;
    await server.waitFor(/^Disconnected$/m);
    // Three updates, two reads, two acks: TCP is ordered, so a third <Ack> would have come before the second.
    expect(client.received).toBe('<connection up><Ack><Ack>');
    expect(server.count(/^sendAck$/)).toBe(2);
  });

  it('peer client: PEER_INTERVAL sets the period; the greeting counts as an ack, coalesced acks as one; SIGTERM still prints "Received N acks"', async () => {
    // A fake server: greeting, then one <Ack> per <update>, except that the 2nd is held and sent with the 3rd in one write.
    const updates: number[] = [];
    let connectedAt = 0;
    const fake = net.createServer((socket) => {
      connectedAt = Date.now();
      socket.write('<connection up>');
      socket.setEncoding('latin1').on('data', (d: string) => {
        for (let i = 0; i < count(d, '<update>'); i++) {
          updates.push(Date.now());
          if (updates.length === 1 || updates.length >= 4) socket.write('<Ack>');
          else if (updates.length === 3) socket.write('<Ack><Ack>');
        }
      });
      socket.on('error', () => {});
    });
    const port = await freePort();
    await new Promise<void>((r) => fake.listen(port, '127.0.0.1', r));
    try {
      const client = python('peer.py', ['client', `127.0.0.1:${port}`], { cwd: dir, env: { PEER_INTERVAL: '0.3' } });
      await client.waitFor(/^Client received <Ack><Ack>$/m, 10_000);
      expect(updates).toHaveLength(3);
      // The first update one interval after connecting (not the seed's 5 s), then every interval.
      expect(updates[0]! - connectedAt).toBeGreaterThanOrEqual(250);
      expect(updates[0]! - connectedAt).toBeLessThan(2_000);
      client.kill('SIGTERM');
      const exit = await client.waitExit(10_000);
      expect(exit.code, client.output).toBe(0);
      const lines = client.stdout.trim().split('\n');
      expect(lines.filter((l) => l === 'Sending update')).toHaveLength(3);
      expect(lines.filter((l) => l.startsWith('Client received '))).toEqual(['Client received <connection up>', 'Client received <Ack>', 'Client received <Ack><Ack>']);
      // 3 acks received, 3 reads counted: the greeting is one, the coalesced pair another.
      expect(lines).toContain('Disconnected');
      expect(lines[lines.indexOf('Disconnected') + 1]).toBe('Received 3 acks');
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });

  it('peer client: a refused connection prints "Failed to connect to:" and "Received 0 acks"', async () => {
    const port = await freePort();
    const client = python('peer.py', ['client', `127.0.0.1:${port}`], { cwd: dir });
    await client.waitFor(/^Received 0 acks$/m);
    expect(client.stdout).toMatch(/^Failed to connect to: IPv4Address\(type='TCP', host='127\.0\.0\.1', port=\d+\)$/m);
    client.kill('SIGTERM'); // the seed's reactor keeps running after a failure
    expect((await client.waitExit()).code).toBe(0);
  });

  it('peer: a PEER_INTERVAL that is not a positive number stops it with a message', async () => {
    const client = python('peer.py', ['client', '127.0.0.1:1'], { cwd: dir, env: { PEER_INTERVAL: 'soon' } });
    expect((await client.waitExit()).code).toBe(1);
    expect(client.stderr).toMatch(/PEER_INTERVAL must be a positive number of seconds \(got 'soon'\)/);
  });

  it('echo server: on 8881, writes back what it reads', async () => {
    if (!(await isPortFree(8881))) throw new Error('127.0.0.1:8881 is busy; the seed echo server can only listen there');
    const server = python('echo_server.py', [], { cwd: dir });
    await waitListening(8881);
    const client = new RawClient(8881);
    client.write('<update>hello');
    await client.waitFor((r) => r === '<update>hello', 'echo');
    client.end();
    await server.waitFor(/^Disconnected from \('127\.0\.0\.1', \d+\) /m);
    expect(server.stdout).toMatch(/^Connected from \('127\.0\.0\.1', \d+\)$/m);
  });
});
