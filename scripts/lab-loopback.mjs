#!/usr/bin/env node
/**
 * The interim `make lab` (until the Docker lab exists): runs the three programs for real on loopback —
 * an acklab-peer server with two clients for a few updates, then three acklab-mcast peers — and prints
 * the ack counts and the order check. Run after `npm run build`. Output goes to lab/runs/loopback-<time>/.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const UPDATES = 5;
const MCAST_PEERS = 3;
const MCAST_COUNT = 5;

if (!existsSync(join(ROOT, 'dist/programs/mcast/check-order.js'))) {
  console.error('Error: dist/ is missing; run `npm run build` first (make lab does)');
  process.exit(1);
}
const { checkOrderFiles } = await import(join(ROOT, 'dist/programs/mcast/check-order.js'));

const runDir = join(ROOT, 'lab/runs', `loopback-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(runDir, { recursive: true });
const children = new Set();
let failures = 0;

function run(name, args, logName) {
  const child = spawn(process.execPath, [join(ROOT, 'bin', `${name}.js`), ...args], { cwd: runDir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const proc = { child, out: '', logName };
  child.stdout.setEncoding('utf8').on('data', (d) => (proc.out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (proc.out += d));
  proc.exited = new Promise((r) => child.once('exit', (code) => (children.delete(child), r(code))));
  return proc;
}

function waitFor(proc, re, ms = 10_000) {
  return new Promise((res, rej) => {
    const t0 = Date.now();
    const tick = () => {
      const m = proc.out.match(re);
      if (m) return res(m);
      if (Date.now() - t0 > ms) return rej(new Error(`${proc.logName}: no ${re} after ${ms} ms:\n${proc.out}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const summaryOf = (proc) => JSON.parse(proc.out.trim().split('\n').reverse().find((l) => l.startsWith('{')) ?? 'null');

function freePort() {
  return new Promise((res, rej) => {
    const s = net.createServer().once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

try {
  // 1. Client/server peer: one server, two clients, a few updates each.
  console.log(`== acklab-peer: 1 server, 2 clients × ${UPDATES} updates every 200ms (loopback)`);
  const server = run('acklab-peer', ['server', '127.0.0.1:0', '--log', 'peer-server.log', '--events', 'peer-server-events.ndjson'], 'peer server');
  const port = Number((await waitFor(server, /Starting server @127\.0\.0\.1 port (\d+)/))[1]);
  const clients = [1, 2].map((i) =>
    run('acklab-peer', ['client', `127.0.0.1:${port}`, '--interval', '200ms', '--count', String(UPDATES), '--events', `peer-client-${i}-events.ndjson`], `client ${i}`),
  );
  const codes = await withTimeout(Promise.all(clients.map((c) => c.exited)), 30_000, 'the peer clients');
  for (const [i, c] of clients.entries()) {
    const s = summaryOf(c);
    const ok = codes[i] === 0 && s?.acksReceived === UPDATES && s?.acksOutstanding === 0;
    if (!ok) failures++;
    console.log(
      `client ${i + 1}: sent ${s?.updatesSent} updates, received ${s?.acksReceived} acks, outstanding ${s?.acksOutstanding}, ` +
        `ack RTT p50 ${s?.ackRttMs?.p50} ms / max ${s?.ackRttMs?.max} ms, exit ${codes[i]} ${ok ? 'OK' : 'FAILED'}`,
    );
  }
  server.child.kill('SIGTERM');
  await withTimeout(server.exited, 10_000, 'the peer server');
  const ss = summaryOf(server);
  console.log(`server: ${ss?.connections} connections, ${ss?.updatesReceived} updates received, ${ss?.acksSent} acks sent`);

  // 2. Multicast & ACK: three peers in a full mesh on loopback.
  console.log(`\n== acklab-mcast: ${MCAST_PEERS} peers × ${MCAST_COUNT} messages every 100ms (loopback)`);
  const ports = await Promise.all(Array.from({ length: MCAST_PEERS }, () => freePort()));
  const ids = ports.map((_, i) => i + 1);
  const outs = ids.map((id) => join(runDir, `delivered-${id}.jsonl`));
  const peers = ids.map((id, i) =>
    run(
      'acklab-mcast',
      [
        '--id', String(id), '--listen', `127.0.0.1:${ports[i]}`,
        '--peers', ids.filter((j) => j !== id).map((j) => `${j}@127.0.0.1:${ports[j - 1]}`).join(','),
        '--count', String(MCAST_COUNT), '--interval', '100ms', '--connect-timeout', '15s',
        '--out', outs[i], '--events', `mcast-${id}-events.ndjson`,
      ],
      `mcast peer ${id}`,
    ),
  );
  const mcodes = await withTimeout(Promise.all(peers.map((p) => p.exited)), 60_000, 'the mcast peers');
  for (const [i, p] of peers.entries()) {
    const s = summaryOf(p);
    if (mcodes[i] !== 0) failures++;
    console.log(`peer ${ids[i]}: sent ${s?.sent}, acks received ${s?.acksReceived}, delivered ${s?.delivered}/${s?.expected}, exit ${mcodes[i]}`);
  }
  const check = checkOrderFiles(outs, { expected: MCAST_PEERS * MCAST_COUNT });
  if (check.ok) {
    console.log(`order check OK: ${outs.length} peers delivered the same ${check.length} messages, each exactly once`);
  } else {
    failures++;
    console.log(`order check FAILED:\n${check.problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  console.log(`\nlogs and delivered files: ${relative(process.cwd(), runDir) || '.'}`);
} catch (err) {
  failures++;
  console.error(`Error: ${err.message}`);
}
process.exitCode = failures ? 1 : 0;
