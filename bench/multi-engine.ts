/**
 * bench:multi-engine — one lab over two engines on a swarm overlay network, on this machine (two
 * dockerds in network namespaces: scripts/multi-engine.sh): how long `up` and `down` take for
 * 2 × N nodes (peer pairs, each server on one engine and its client on the other, so every pair
 * talks across the overlay), next to the same lab on the one local engine; the first `up` includes
 * loading the images onto both engines, so it is reported apart. Runs as root only (skips, saying
 * why, otherwise); everything it starts is removed, also on Ctrl-C.
 *
 *   BENCH_ME_SIZES=5,25 (nodes per engine)  BENCH_ME_ROUNDS=2
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { execa } from 'execa';
import { median } from 'simple-statistics';
import path from 'node:path';
import { REPO_ROOT, ensureImages } from '../src/images/index.js';
import { Lab } from '../src/lab/index.js';
import { dockerRuntime } from '../src/runtime/index.js';
import { parseTopology } from '../src/topology/index.js';

const SIZES = (process.env.BENCH_ME_SIZES ?? '5,25').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ME_ROUNDS ?? 2);
const SCRIPT = path.join(REPO_ROOT, 'scripts/multi-engine.sh');

function pairs(name: string, perEngine: number, engines?: { a: string; b: string }) {
  const lines = Array.from({ length: perEngine }, (_, i) => [
    `  s${i + 1}: { kind: peer-server${engines ? ', engine: a' : ''} }`,
    `  c${i + 1}: { kind: peer-client${engines ? ', engine: b' : ''}, args: { server: s${i + 1}, interval: 1s } }`,
  ]).flat();
  const head = engines ? `engines: { a: "${engines.a}", b: "${engines.b}" }\n` : '';
  return parseTopology(`name: ${name}\n${head}nodes:\n${lines.join('\n')}\n`, `${name}.yaml`);
}

async function timed<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const v = await f();
  return [(performance.now() - t0) / 1000, v];
}

async function main(): Promise<void> {
  const check = spawnSync(SCRIPT, ['check'], { encoding: 'utf8' });
  if (check.status !== 0) {
    console.log(`bench:multi-engine skipped: ${check.error?.message ?? check.stderr.trim()}`);
    return;
  }
  const images = await ensureImages({ log: () => {} });
  const id = `b${process.pid.toString(16).slice(-5)}`;
  const down = () => spawnSync(SCRIPT, ['down', id], { stdio: 'inherit' });
  process.once('SIGINT', () => {
    down();
    process.exit(130);
  });
  const [engineUp, r] = await timed(() => execa(SCRIPT, ['up', id]));
  const vars = Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=', 2) as [string, string]));
  const engines = { a: vars.ME_A!, b: vars.ME_B! };
  console.log(`two engines in network namespaces, in one swarm: up in ${engineUp.toFixed(1)} s`);
  const rows: string[] = [];
  try {
    // The first lab loads the images onto both engines (docker save | docker load).
    const [first, lab0] = await timed(() => Lab.fromTopology(pairs(`bme-warm-${id}`, 1, engines)).start({ images }));
    await lab0.stop();
    console.log(`first up (2 nodes, images loaded onto both engines): ${first.toFixed(1)} s`);
    for (const n of SIZES) {
      const ups: number[] = [];
      const downs: number[] = [];
      const localUps: number[] = [];
      const localDowns: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const [u, lab] = await timed(() => Lab.fromTopology(pairs(`bme-${n}-${id}`, n, engines)).start({ images }));
        const [d] = await timed(() => lab.stop());
        ups.push(u);
        downs.push(d);
        const [lu, local] = await timed(() => Lab.fromTopology(pairs(`bml-${n}-${id}`, n)).start({ images, runtime: dockerRuntime() }));
        const [ld] = await timed(() => local.stop());
        localUps.push(lu);
        localDowns.push(ld);
        console.log(`  2 × ${n} nodes, round ${round}: up ${u.toFixed(1)} s, down ${d.toFixed(1)} s (one engine, same ${2 * n} nodes: up ${lu.toFixed(1)} s, down ${ld.toFixed(1)} s)`);
      }
      rows.push(
        `| 2 × ${n} | ${median(ups).toFixed(1)} s | ${median(downs).toFixed(1)} s | ${median(localUps).toFixed(1)} s | ${median(localDowns).toFixed(1)} s |`,
      );
    }
  } finally {
    down();
  }
  console.log('\n| nodes (per engine) | up, 2 engines | down, 2 engines | up, 1 engine | down, 1 engine |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log(`\n(medians of ${ROUNDS} rounds; 2 cores; both engines and the local one share this machine)`);
}

await main();
