/**
 * Interop with the seed: the course's Twisted peer (docker/twisted/peer.py, a Python 3 port of
 * the slides) against acklab-peer, both ways. Needs Debian's python3-twisted; when it is missing this
 * file FAILS with instructions, unless ACKLAB_SKIP_TWISTED=1 asks to skip it explicitly.
 * The Twisted server ignores its port argument and always listens on 8888 (a seed quirk), so this file
 * uses 127.0.0.1:8888 and must not run alongside another test using that port.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PeerClientSummary } from '../../../src/programs/peer/client.js';
import { isPortFree, killAll, program, python, requireBuild, SYSTEM_PYTHON, tempDir } from './helpers.js';

const TWISTED_PORT = 8888;

function twistedStatus(): { ok: true; version: string } | { ok: false; why: string } {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import twisted; print(twisted.__version__)'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `${SYSTEM_PYTHON} cannot run: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, why: `${SYSTEM_PYTHON} cannot import twisted: ${r.stderr.trim().split('\n').at(-1)}` };
  return { ok: true, version: r.stdout.trim() };
}

const status = twistedStatus();
const skip = !status.ok && process.env.ACKLAB_SKIP_TWISTED === '1';
if (skip) console.warn(`SKIPPED Twisted interop tests (ACKLAB_SKIP_TWISTED=1): ${(status as { why: string }).why}`);

describe.skipIf(skip)('interop with the seed\'s Twisted peer (python3-twisted)', () => {
  let dir: string;
  beforeAll(async () => {
    if (!status.ok) {
      throw new Error(
        `python3-twisted is MISSING, so the interop tests cannot run: ${status.why}. ` +
          'Install it from Debian (apt-get install -y python3-twisted), or set ACKLAB_SKIP_TWISTED=1 to skip these tests explicitly.',
      );
    }
    requireBuild();
    dir = await tempDir('twisted');
  });
  afterEach(killAll);
  afterAll(killAll);

  it('acklab client → Twisted server (on its hard-coded port 8888): one ack per update, greeting not counted', async () => {
    if (!(await isPortFree(TWISTED_PORT))) throw new Error(`127.0.0.1:${TWISTED_PORT} is busy; the Twisted server of the seed can only listen there`);
    // The seed server ignores the port it is given: we pass 1234 and connect to 8888.
    const server = python('peer.py', ['server', '127.0.0.1:1234'], { cwd: dir });
    await server.waitFor(/Starting server @127\.0\.0\.1 port 1234/);
    await waitListening(TWISTED_PORT);
    const client = program('acklab-peer', ['client', `127.0.0.1:${TWISTED_PORT}`, '--interval', '200ms', '--count', '5']);
    expect((await client.waitExit(30_000)).code, client.output).toBe(0);
    expect(client.summary<PeerClientSummary>()).toMatchObject({ updatesSent: 5, acksReceived: 5, acksOutstanding: 0, unmatchedAcks: 0 });
    expect(client.count(/^Client received <connection up>$/)).toBe(1);
    await server.waitFor(/Disconnected/);
    expect(await server.waitForCount(/^Server received <update>$/, 5)).toBe(5);
    expect(server.count(/^sendAck$/)).toBe(5);
  });

  it('Twisted client → acklab server: updates acked; the seed client counts its greeting as an ack', async () => {
    const server = program('acklab-peer', ['server', '127.0.0.1:0']);
    const port = Number((await server.waitFor(/Starting server @127\.0\.0\.1 port (\d+)/))[1]);
    const client = python('peer.py', ['client', `127.0.0.1:${port}`], { cwd: dir });
    // The seed client sends its first update 5 s after connecting, then every 5 s.
    await server.waitFor(/(Server received <update>[^]*){2}/, 20_000);
    await client.waitFor(/(Client received <Ack>[^]*){2}/, 5_000);
    server.kill('SIGTERM');
    expect((await server.waitExit()).code).toBe(0);
    const acks = Number((await client.waitFor(/Received (\d+) acks/, 10_000))[1]);
    const updates = server.count(/^Server received <update>$/);
    expect(updates).toBe(2);
    expect(client.count(/^Sending update$/)).toBe(2);
    expect(client.output).toMatch(/^Client received <connection up>$/m);
    // Quirk of the seed (documented, fixed in acklab's client): every read counts, the greeting included.
    expect(acks).toBe(updates + 1);
    client.kill('SIGTERM'); // the seed client's reactor never stops by itself
  });
});

async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortFree(port)) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
