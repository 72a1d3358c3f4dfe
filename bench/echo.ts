/**
 * Echo benchmark (not a test): closed-loop 64-byte ping-pong round trips per second at 1 and 64
 * connections, against acklab-echo (default single process, and --workers auto) and, in the same run,
 * against the seed's Twisted echo server (docker/twisted/echo_server.py on Debian's
 * python3-twisted, which always listens on 8881). The load comes from bench/echo-load.c (compiled with
 * cc into .cache/bench) so the generator is cheap next to the servers; without a C compiler it falls
 * back to an in-process Node generator, which costs about as much as the server and caps the ratios.
 * Each point also reports round trips per second of server CPU (from /proc), which a busy shared machine
 * disturbs far less than wall-clock throughput. Loopback only; bounded: BENCH_ROUNDS (default 3) × 2 connection counts × 3 targets points of
 * BENCH_SECONDS (default 2 s) after a 0.5 s warm-up each, about 45 s in all.
 *
 *   npm run bench:echo
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Run from .cache/bench/echo.mjs (compiled by `npm run bench:echo`), so the repo root is two levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const LOAD_BIN = join(ROOT, '.cache/bench/echo-load');
const PYTHON = process.env.ACKLAB_PYTHON ?? '/usr/bin/python3';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_MS = 500;
const MESSAGE = Buffer.alloc(64, 0x61);
const CONNECTIONS = [1, 64];
const TWISTED_PORT = 8881;

interface Target {
  name: string;
  port: number;
  proc: ChildProcess;
}

/** One connection's closed loop: send 64 bytes, wait for all 64 back, repeat; counts completed round trips. */
function pingPong(port: number, state: { counting: boolean; stop: boolean; roundTrips: number }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => s.write(MESSAGE));
    let got = 0;
    s.on('data', (d) => {
      got += d.length;
      while (got >= MESSAGE.length) {
        got -= MESSAGE.length;
        if (state.counting) state.roundTrips++;
        if (state.stop) {
          s.destroy();
          return resolvePromise();
        }
        s.write(MESSAGE);
      }
    });
    s.on('error', reject);
  });
}

/** Builds the C generator; undefined (with the reason printed) when there is no working cc. */
function buildCLoad(): string | undefined {
  const r = spawnSync('cc', ['-O2', '-o', LOAD_BIN, join(ROOT, 'bench/echo-load.c')], { encoding: 'utf8' });
  if (r.status === 0) return LOAD_BIN;
  console.log(`  (no C load generator: ${r.error?.message ?? r.stderr.trim()}; using the Node generator, which caps the ratios)`);
  return undefined;
}

interface Point {
  /** Round trips per wall-clock second. */
  rate: number;
  /** Round trips per second of server CPU (user+system, all its processes): load-independent efficiency. */
  perCpuSecond?: number;
}

async function measureC(bin: string, target: Target, connections: number): Promise<Point> {
  const cpu0 = cpuSeconds(target.proc.pid!);
  const child = spawn(bin, [String(target.port), String(connections), String(SECONDS), String(WARMUP_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const cpu1 = cpuSeconds(target.proc.pid!);
  if (code !== 0) throw new Error(`echo-load exited with ${code}`);
  const { roundTrips, seconds, totalRoundTrips } = JSON.parse(out) as { roundTrips: number; seconds: number; totalRoundTrips: number };
  const cpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
  return { rate: roundTrips / seconds, perCpuSecond: cpu ? totalRoundTrips / cpu : undefined };
}

/** CPU seconds (utime+stime) used so far by pid and its descendants (cluster workers); Linux /proc only. */
function cpuSeconds(pid: number): number | undefined {
  const TICKS = 100; // USER_HZ, 100 on Linux
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After "pid (comm) ", field 14/15 of stat (utime, stime) are at index 11/12.
    let ticks = Number(fields[11]) + Number(fields[12]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) ticks += (cpuSeconds(Number(child)) ?? 0) * TICKS;
    }
    return ticks / TICKS;
  } catch {
    return undefined;
  }
}

async function measureNode(target: Target, connections: number): Promise<Point> {
  const port = target.port;
  const state = { counting: false, stop: false, roundTrips: 0 };
  const loops = Array.from({ length: connections }, () => pingPong(port, state));
  await sleep(WARMUP_MS);
  state.counting = true;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  state.counting = false;
  const elapsed = (performance.now() - t0) / 1000;
  const roundTrips = state.roundTrips;
  state.stop = true;
  await Promise.all(loops);
  return { rate: roundTrips / elapsed };
}

function acklab(name: string, extra: string[]): () => Promise<Target> {
  return async () => {
    const proc = spawn(process.execPath, [join(ROOT, 'bin/acklab-echo.js'), '--port', '0', '--host', '127.0.0.1', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await waitForLine(proc, /Echo server listening on 127\.0\.0\.1:(\d+)/);
    proc.stdout!.resume(); // keep draining its Connected/Disconnected lines
    return { name, port, proc };
  };
}

async function startTwisted(): Promise<Target> {
  const check = spawnSync(PYTHON, ['-c', 'import twisted'], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`python3-twisted is missing (${PYTHON} cannot import twisted); install it: apt-get install -y python3-twisted`);
  if (!(await portFree(TWISTED_PORT))) throw new Error(`127.0.0.1:${TWISTED_PORT} is busy; the seed's Twisted echo server can only listen there`);
  const proc = spawn(PYTHON, ['-u', join(ROOT, 'docker/twisted/echo_server.py')], { stdio: ['ignore', 'pipe', 'inherit'] });
  proc.stdout!.resume();
  const deadline = Date.now() + 10_000;
  while (await portFree(TWISTED_PORT)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error('the Twisted echo server did not start listening on 8881');
    await sleep(100);
  }
  return { name: 'twisted-echo (seed)', port: TWISTED_PORT, proc };
}

const TWISTED = 'twisted-echo (seed)';

async function main(): Promise<void> {
  const cpus = os.availableParallelism();
  console.log(`echo ping-pong: ${MESSAGE.length}-byte messages, closed loop, ${SECONDS} s per point × ${ROUNDS} rounds, loopback, ${process.version}, ${cpus} CPUs`);
  const cLoad = buildCLoad();
  const measure = (target: Target, c: number) => (cLoad ? measureC(cLoad, target, c) : measureNode(target, c));
  const targets: [string, () => Promise<Target>][] = [
    ['acklab-echo', acklab('acklab-echo', [])],
    ...(cpus > 1 ? [[`acklab-echo --workers auto`, acklab('acklab-echo --workers auto', ['--workers', 'auto'])] as [string, () => Promise<Target>]] : []),
    [TWISTED, startTwisted],
  ];
  // All servers run at once and the points are interleaved round by round, so load drifting on a
  // shared machine hits every target alike; each figure is the median of its rounds.
  const running: Target[] = [];
  const samples = new Map<string, Map<number, Point[]>>();
  let failed = false;
  try {
    for (const [name, start] of targets) {
      try {
        running.push(await start());
        samples.set(name, new Map(CONNECTIONS.map((c) => [c, []])));
      } catch (err) {
        failed = true;
        console.log(`  ${name}: not measured: ${(err as Error).message}`);
      }
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONNECTIONS) {
        for (const target of running) {
          const point = await measure(target, c);
          samples.get(target.name)!.get(c)!.push(point);
          console.log(`  round ${round}  ${target.name.padEnd(28)} ${String(c).padStart(3)} conn: ${fmtPoint(point)}`);
        }
      }
    }
  } finally {
    await Promise.all(
      running.map((t) => {
        const exited = new Promise((r) => t.proc.once('exit', r));
        t.proc.kill('SIGTERM');
        return exited;
      }),
    );
  }
  const results = new Map<string, Map<number, Point>>();
  console.log(`median of ${ROUNDS} rounds:`);
  for (const [name, byConn] of samples) {
    const row = new Map(
      [...byConn].map(([c, points]) => {
        const eff = points.flatMap((p) => (p.perCpuSecond === undefined ? [] : [p.perCpuSecond]));
        return [c, { rate: median(points.map((p) => p.rate)), perCpuSecond: eff.length ? median(eff) : undefined }] as const;
      }),
    );
    results.set(name, row);
    for (const [c, p] of row) console.log(`  ${name.padEnd(28)} ${String(c).padStart(3)} conn: ${fmtPoint(p)}`);
  }
  const t = results.get(TWISTED);
  for (const [name, row] of results) {
    if (name === TWISTED || !t) continue;
    for (const c of CONNECTIONS) {
      const ratio = row.get(c)!.rate / t.get(c)!.rate;
      const a = row.get(c)!.perCpuSecond;
      const b = t.get(c)!.perCpuSecond;
      const eff = a !== undefined && b !== undefined ? `; per server CPU-second ${(a / b).toFixed(2)}×` : '';
      console.log(`ratio ${name} / twisted at ${String(c).padStart(2)} conn: ${ratio.toFixed(2)}×${c === 64 ? ` (target ≥ 2×: ${ratio >= 2 ? 'met' : 'NOT met'})` : ''}${eff}`);
    }
  }
  console.log(
    JSON.stringify({
      bench: 'echo',
      seconds: SECONDS,
      rounds: ROUNDS,
      generator: cLoad ? 'c' : 'node',
      cpus,
      results: Object.fromEntries(
        [...results].map(([k, v]) => [
          k,
          Object.fromEntries([...v].map(([c, p]) => [c, { rate: Math.round(p.rate), perCpuSecond: p.perCpuSecond && Math.round(p.perCpuSecond) }])),
        ]),
      ),
    }),
  );
  if (failed) process.exitCode = 1;
}

function waitForLine(proc: ChildProcess, re: RegExp): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        proc.stdout!.off('data', onData);
        resolvePromise(Number(m[1]));
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${buf}`)));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

function fmtPoint(p: Point): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
  return `${n(p.rate)} round trips/s${p.perCpuSecond === undefined ? '' : `, ${n(p.perCpuSecond)} per server CPU-second`}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

await main();
