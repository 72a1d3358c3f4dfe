/**
 * bench:lab — how long `up` and `down` take for 3, 10 and 30 nodes, next to starting the same
 * containers with a raw parallel loop of `docker run` (and removing them with `docker rm -f`) in
 * the same run; memory per node container; and whether a 50-node topology (25 peer pairs, no
 * mcast) comes up. Rounds interleave lab and raw so load drift on a shared machine hits both.
 *
 * `up` waits until every node is ready (its port listens); `docker run -d` returns once the
 * container has started, so a second baseline, raw+ready, adds the same wait to the raw loop.
 *
 * Targets (issue 4): up(10) ≤ 1.3 × raw; down(10) ≤ 3 s.
 */
import { execa } from 'execa';
import { performance } from 'node:perf_hooks';
import { median } from 'simple-statistics';
import { createLabels, labelFilter } from '../src/common/index.js';
import { ensureImages } from '../src/images/index.js';
import { Lab, removeLab } from '../src/lab/index.js';
import { dockerRuntime } from '../src/runtime/index.js';
import { parseTopology } from '../src/topology/index.js';

const SIZES = (process.env.BENCH_LAB_SIZES ?? '3,10,30').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_LAB_ROUNDS ?? 3);
const BIG = Number(process.env.BENCH_LAB_BIG ?? 50);
const runtime = dockerRuntime();
const docker = (args: string[]) => execa('docker', args, { stdout: 'pipe', stderr: 'pipe' });
const RAW_LABELS = createLabels({ role: 'test', lab: 'bench-raw', session: 'bench-lab' });
const labelArgs = Object.entries(RAW_LABELS).flatMap(([k, v]) => ['--label', `${k}=${v}`]);

function echoTopology(name: string, n: number) {
  const nodes = Array.from({ length: n }, (_, i) => `  e${i + 1}: { kind: echo }`).join('\n');
  return parseTopology(`name: ${name}\nnodes:\n${nodes}\n`, `${name}.yaml`);
}

function pairsTopology(name: string, pairs: number) {
  const nodes = Array.from({ length: pairs }, (_, i) =>
    [`  s${i + 1}: { kind: peer-server }`, `  c${i + 1}: { kind: peer-client, args: { server: s${i + 1}, interval: 1s } }`].join('\n'),
  ).join('\n');
  return parseTopology(`name: ${name}\nnodes:\n${nodes}\n`, `${name}.yaml`);
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await f();
  return [(performance.now() - t0) / 1000, v];
}

/** The baseline: a network and N `docker run -d` in parallel, the same image and argv as the lab. */
async function rawUp(n: number, image: string): Promise<void> {
  await docker(['network', 'create', ...labelArgs, 'acklab-bench-raw']);
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      docker(['run', '-d', '--init', '--name', `acklab-bench-raw-e${i + 1}`, '--hostname', `e${i + 1}`, '--network', 'acklab-bench-raw', '--network-alias', `e${i + 1}`, ...labelArgs, image, 'acklab-echo', '--host', '0.0.0.0', '--port', '8881']),
    ),
  );
}

/** The raw loop plus the wait `up` does: until every echo server listens (same /proc check). */
async function rawUpReady(n: number, image: string): Promise<void> {
  await rawUp(n, image);
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const id = `acklab-bench-raw-e${i + 1}`;
      while (!(await runtime.containers.listeningPorts(id)).has(8881)) await new Promise((r) => setTimeout(r, 50));
    }),
  );
}

async function rawDown(): Promise<void> {
  const ids = (await docker(['ps', '-aq', '--filter', `label=${labelFilter({ session: 'bench-lab' }).at(-1)}`])).stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await docker(['rm', '-f', ...ids]);
  await docker(['network', 'rm', 'acklab-bench-raw']).catch(() => undefined);
}

async function memoryPerNode(lab: string): Promise<number> {
  const names = (await runtime.containers.list(labelFilter({ lab, role: 'node' }))).map((c) => c.name);
  const r = await docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', ...names]);
  const mib = r.stdout.split('\n').filter(Boolean).map((l) => toMiB(l.split('/')[0]!.trim()));
  return mib.reduce((a, b) => a + b, 0) / mib.length;
}

function toMiB(s: string): number {
  const m = /^([\d.]+)\s*([KMG]i?B|B)$/.exec(s);
  if (!m) return NaN;
  const f: Record<string, number> = { B: 1 / 2 ** 20, KiB: 1 / 1024, kB: 1 / 1024, MiB: 1, MB: 1, GiB: 1024, GB: 1024 };
  return Number(m[1]) * (f[m[2]!] ?? NaN);
}

async function main(): Promise<void> {
  const images = await ensureImages({ log: () => {} });
  process.stdout.write(`bench:lab — node image ${images.node}, ${ROUNDS} rounds per size, medians\n`);
  await rawDown();
  const rows: string[][] = [];
  let verdict = true;
  for (const n of SIZES) {
    const name = `bench-lab-${n}`;
    const topo = echoTopology(name, n);
    const up: number[] = [];
    const down: number[] = [];
    const rup: number[] = [];
    const rdown: number[] = [];
    const rready: number[] = [];
    let mem = NaN;
    for (let r = 0; r < ROUNDS; r++) {
      const [tu, lab] = await timed(() => Lab.fromTopology(topo).start({ images, steps: [] }));
      up.push(tu);
      if (r === 0) mem = await memoryPerNode(name);
      down.push((await timed(() => lab.stop()))[0]);
      rup.push((await timed(() => rawUp(n, images.node)))[0]);
      rdown.push((await timed(() => rawDown()))[0]);
      rready.push((await timed(() => rawUpReady(n, images.node)))[0]);
      await rawDown();
    }
    const ratio = median(up) / median(rup);
    if (n === 10) verdict &&= ratio <= 1.3 && median(down) <= 3;
    rows.push([
      String(n), median(up).toFixed(2), median(rup).toFixed(2), ratio.toFixed(2), median(rready).toFixed(2), (median(up) / median(rready)).toFixed(2),
      median(down).toFixed(2), median(rdown).toFixed(2), mem.toFixed(1),
    ]);
  }
  const header = ['nodes', 'up s', 'raw run s', 'up/raw', 'raw+ready s', 'up/raw+ready', 'down s', 'raw rm s', 'MiB/node'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
  process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
  process.stdout.write(`targets: up(10) ≤ 1.3 × raw and down(10) ≤ 3 s: ${verdict ? 'MET' : 'NOT MET'}\n`);

  // A 50-node mcast-free topology: 25 peer-server/peer-client pairs, servers first.
  const big = pairsTopology(`bench-lab-big`, BIG / 2);
  try {
    const [tu, lab] = await timed(() => Lab.fromTopology(big).start({ images, steps: [] }));
    const states = await Promise.all(lab.nodes.map((n) => lab.state(n.name)));
    const running = states.filter((s) => s.running).length;
    const mem = await memoryPerNode('bench-lab-big');
    const [td] = await timed(() => lab.stop());
    process.stdout.write(`${BIG}-node topology (${BIG / 2} peer pairs): up ${tu.toFixed(2)} s, ${running}/${BIG} running, ${mem.toFixed(1)} MiB/node, down ${td.toFixed(2)} s\n`);
  } catch (err) {
    process.stdout.write(`${BIG}-node topology did NOT come up: ${(err as Error).message}\n`);
    await removeLab(runtime, 'bench-lab-big');
    process.exitCode = 1;
  }
}

try {
  await main();
} finally {
  await rawDown().catch(() => undefined);
  for (const n of SIZES) await removeLab(runtime, `bench-lab-${n}`).catch(() => undefined);
  await removeLab(runtime, 'bench-lab-big').catch(() => undefined);
}
