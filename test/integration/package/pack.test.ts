/**
 * acklab as a package, as a new user gets it: `npm pack` in a copy of the checkout (so `prepack`
 * builds dist/ from nothing), the tarball's contents, then `npm install ./acklab-*.tgz` into an
 * empty folder — acklab from the local tarball only, its dependencies from npm's cache where it has
 * them (--prefer-offline) — and from there: `npx acklab --version`, the other three bins, a strict
 * type-check of examples/ (`import { Lab, type StartedLab } from 'acklab'`), and the example run
 * with vitest against real containers. Every temporary folder is removed afterwards.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const versionOf = (name: string) => (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

let work: string;
let tarball: string;
let files: string[];
let consumer: string;

/** A child's environment without this vitest's own variables (the example runs its own vitest). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'NODE_OPTIONS' || key === 'FORCE_COLOR') delete env[key];
  return env;
}

async function run(file: string, args: string[], options: { cwd: string; timeout?: number }): Promise<{ exitCode: number; stdout: string; all: string }> {
  const r = await execa(file, args, { reject: false, all: true, env: cleanEnv(), extendEnv: false, cwd: options.cwd, ...(options.timeout ? { timeout: options.timeout } : {}) });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), all: String(r.all) };
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'acklab-pack-'));
  // A copy of what a fresh clone holds (tracked and new, not ignored files): no dist/, so prepack must build it.
  const source = path.join(work, 'checkout');
  const listed = await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(path.join(ROOT, file))) continue; // deleted in the work tree, not yet committed
    mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(source, file));
  }
  expect(existsSync(path.join(source, 'dist'))).toBe(false);
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(source, 'node_modules'));
  const packed = await run('npm', ['pack', '--pack-destination', work], { cwd: source, timeout: 240_000 });
  expect(packed.exitCode, packed.all).toBe(0);
  tarball = path.join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  files = (await execa('tar', ['tzf', tarball])).stdout.split('\n').map((f) => f.replace(/^package\//, '')).filter((f) => f && !f.endsWith('/'));
  rmSync(source, { recursive: true, force: true });

  consumer = path.join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'acklab-consumer', private: true, type: 'module' }, null, 2));
  const installed = await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, `typescript@${versionOf('typescript')}`, `@types/node@${versionOf('@types/node')}`, `vitest@${versionOf('vitest')}`],
    { cwd: consumer, timeout: 300_000 },
  );
  expect(installed.exitCode, installed.all).toBe(0);
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist/ (built by prepack) with declarations and the program bundles, the four bins, README and LICENSE', () => {
    console.log(`acklab tarball: ${files.length} files, ${path.basename(tarball)}`);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'dist/lab/started-lab.d.ts', 'dist/cli/main.js']) expect(files).toContain(f);
    for (const bin of Object.values(pkg.bin)) expect(files).toContain(bin);
    expect(Object.keys(pkg.bin).sort()).toEqual(['acklab', 'acklab-echo', 'acklab-mcast', 'acklab-peer']);
    for (const bundle of ['echo', 'peer', 'mcast', 'agent']) expect(files).toContain(`dist/bundles/${bundle}.mjs`);
    // what an installed acklab needs to build its images
    for (const f of ['docker/node/Dockerfile', 'docker/shaper/Dockerfile', 'docker/shaper/helper/acklab-nfq.c', 'docker/twisted/Dockerfile', 'docker/twisted/peer.py']) expect(files).toContain(f);
    // the examples to copy: topologies, experiments, and the graded implementations they build
    for (const f of ['lab/topologies/client-server.yaml', 'lab/experiments/grade-mcast-python.yaml', 'lab/examples/mcast-python/Dockerfile', 'lab/examples/mcast-python/mcast.py']) expect(files).toContain(f);
  });

  it('ships no tests, benchmarks, fixtures, sources or source maps', () => {
    const unwanted = files.filter((f) => /^(test|bench|examples|src|scripts|\.ci)\//.test(f) || /fixtures|\.test\.|\.map$|\.tsbuildinfo$|__pycache__|\.pyc$/.test(f));
    expect(unwanted).toEqual([]);
  });
});

describe('the installed package, in an empty folder', () => {
  it('npx acklab --version prints the package version; the program bins run', async () => {
    const v = await run('npx', ['--no-install', 'acklab', '--version'], { cwd: consumer });
    expect(v.exitCode, v.all).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    for (const bin of ['acklab-echo', 'acklab-peer', 'acklab-mcast']) {
      const r = await run('npx', ['--no-install', bin, '--help'], { cwd: consumer });
      expect(r.exitCode, `${bin}: ${r.all}`).toBe(0);
    }
  }, 60_000);

  it('resolves `acklab` only through its exports: the entry, with types; a deep import is refused', async () => {
    const probe = await run('node', ['--input-type=module', '-e', "const m = await import('acklab'); console.log(typeof m.Lab, typeof m.Lab.fromYaml); await import('acklab/dist/lab/lab.js').catch((e) => console.log(e.code));"], { cwd: consumer });
    expect(probe.exitCode, probe.all).toBe(0);
    expect(probe.stdout.split('\n')).toEqual(['function function', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);
  }, 60_000);

  it('builds no image of its own: the bundles it shipped give the checkout\'s image tags, byte for byte', async () => {
    const expected = (inject as unknown as (k: string) => { node: string; shaper: string } | undefined)('images');
    const r = await run('node', ['--input-type=module', '-e', "const { ensureImages } = await import('acklab'); console.log(JSON.stringify(await ensureImages()));"], { cwd: consumer, timeout: 300_000 });
    expect(r.exitCode, r.all).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expected);
  }, 330_000);

  it('examples/ type-checks under strict against the package (import { Lab, type StartedLab } from "acklab")', async () => {
    cpSync(path.join(ROOT, 'examples'), consumer, { recursive: true });
    const tsc = await run('npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'], { cwd: consumer, timeout: 120_000 });
    expect(tsc.exitCode, tsc.all).toBe(0);
  }, 150_000);

  it('the example test passes: starts a lab from the package, impairs a link, asserts on the acks, cleans up', async () => {
    const vitest = await run('npx', ['--no-install', 'vitest', 'run'], { cwd: consumer, timeout: 300_000 });
    expect(vitest.exitCode, vitest.all).toBe(0);
    expect(vitest.all).toMatch(/Tests\s+1 passed/);
    const left = await execa('docker', ['ps', '-a', '--filter', 'label=dev.acklab.managed=true', '--format', '{{.Label "dev.acklab.lab"}}']);
    expect(left.stdout.split('\n').filter((l) => l.startsWith('example-'))).toEqual([]);
  }, 330_000);
});
