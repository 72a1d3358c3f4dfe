/**
 * Makes a Debian base image without any registry: debootstrap a minbase root from the machine's
 * Debian mirror (read from its apt sources at run time), give it an apt sources list so
 * `apt-get install` works in `docker build`, and `docker import` it under BOOTSTRAP_BASE.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { AcklabError, createLabels, errorMessage } from '../common/index.js';
import type { ImageClient } from '../runtime/index.js';
import { findDebianMirror, renderDebianSources, type DebianMirror } from './apt-sources.js';
import { BOOTSTRAP_BASE, BOOTSTRAP_SUITE } from './plan.js';

export interface BootstrapResult {
  ref: string;
  id: string;
  seconds: { debootstrap: number; import: number; total: number };
}

export interface BootstrapReadiness {
  ok: boolean;
  /** What is missing and how to fix it, when not ok. */
  problems: string[];
  mirror?: DebianMirror;
}

/** Whether this machine can bootstrap the base: root, debootstrap on PATH, a Debian mirror in its apt sources. */
export async function bootstrapReadiness(env: NodeJS.ProcessEnv = process.env): Promise<BootstrapReadiness> {
  const problems: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('debootstrap needs root: run as root, or make the base images available (docker pull / docker load)');
  }
  const found = await execa('sh', ['-c', 'command -v debootstrap'], { reject: false });
  if (found.exitCode !== 0) problems.push("debootstrap is not installed: apt-get install debootstrap (scripts/ensure-engine.sh does this as root)");
  const mirror = await findDebianMirror(BOOTSTRAP_SUITE, env);
  if (!mirror) {
    problems.push(
      'no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/: set ACKLAB_DEBIAN_MIRROR to a Debian archive URL',
    );
  }
  return { ok: problems.length === 0, problems, ...(mirror ? { mirror } : {}) };
}

/** dpkg and apt settings of the official slim images: no docs or man pages, no package cache. */
const SLIM_DPKG = [
  'path-exclude /usr/share/doc/*',
  'path-include /usr/share/doc/*/copyright',
  'path-exclude /usr/share/man/*',
  'path-exclude /usr/share/info/*',
  'path-exclude /usr/share/locale/*',
  'path-include /usr/share/locale/locale.alias',
  '',
].join('\n');
// Without the two cache settings every `apt-get update` leaves ~80 MB of pkgcache.bin in a layer.
const SLIM_APT = [
  'APT::Install-Recommends "false";',
  'Binary::apt::APT::Keep-Downloaded-Packages "false";',
  'Dir::Cache::pkgcache "";',
  'Dir::Cache::srcpkgcache "";',
  '',
].join('\n');

export async function bootstrapDebianBase(
  images: ImageClient,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  /** The tag to import as (tests and manual checks use their own, never replacing the shared base). */
  ref: string = BOOTSTRAP_BASE,
): Promise<BootstrapResult> {
  const ready = await bootstrapReadiness(env);
  if (!ready.ok || !ready.mirror) {
    throw new AcklabError(`cannot bootstrap ${ref}:\n  - ${ready.problems.join('\n  - ')}`);
  }
  const mirror = ready.mirror;
  const started = performance.now();
  // /var/tmp: a tmpfs /tmp may be mounted nodev/noexec, which debootstrap's chroot cannot use.
  const parent = env.ACKLAB_BOOTSTRAP_DIR ?? (existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir());
  const dir = await mkdtemp(path.join(parent, 'acklab-debootstrap-'));
  try {
    const include = mirror.uri.startsWith('https:') ? ['--include=ca-certificates'] : [];
    const argv = ['--variant=minbase', ...include, BOOTSTRAP_SUITE, dir, mirror.uri];
    log(`bootstrapping ${ref}: debootstrap ${argv.join(' ')} (mirror from ${mirror.origin}; about a minute)`);
    const proc = execa('debootstrap', argv, { all: true, reject: false });
    const tail: string[] = [];
    proc.all?.setEncoding('utf8');
    let buffered = '';
    proc.all?.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 30) tail.shift();
        // Stage lines only; the per-package lines would be hundreds.
        if (/^(W|E):|^I: (Retrieving (In)?Release|Checking component|Installing core|Base system installed)/.test(line)) log(`  ${line}`);
      }
    });
    const result = await proc;
    if (result.exitCode !== 0) {
      throw new AcklabError(
        `debootstrap ${argv.join(' ')} failed (exit ${result.exitCode}); last output:\n${tail.join('\n')}\n(see ${path.join(dir, 'debootstrap/debootstrap.log')})`,
      );
    }
    const debootstrapSeconds = (performance.now() - started) / 1000;

    await slimRoot(dir, mirror);
    const importStart = performance.now();
    const id = await importRoot(images, dir, ref);
    const importSeconds = (performance.now() - importStart) / 1000;
    const total = (performance.now() - started) / 1000;
    log(
      `bootstrapped ${ref} (${id.slice(7, 19)}) in ${total.toFixed(1)} s ` +
        `(debootstrap ${debootstrapSeconds.toFixed(1)} s, import ${importSeconds.toFixed(1)} s); it is reused from now on`,
    );
    return { ref, id, seconds: { debootstrap: debootstrapSeconds, import: importSeconds, total } };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Sources list, slim-image dpkg/apt settings, and no caches left behind in the root. */
async function slimRoot(dir: string, mirror: DebianMirror): Promise<void> {
  await rm(path.join(dir, 'etc/apt/sources.list'), { force: true });
  await mkdir(path.join(dir, 'etc/apt/sources.list.d'), { recursive: true });
  await writeFile(path.join(dir, 'etc/apt/sources.list.d/debian.sources'), renderDebianSources(mirror, BOOTSTRAP_SUITE));
  await mkdir(path.join(dir, 'etc/dpkg/dpkg.cfg.d'), { recursive: true });
  await writeFile(path.join(dir, 'etc/dpkg/dpkg.cfg.d/acklab-slim'), SLIM_DPKG);
  await writeFile(path.join(dir, 'etc/apt/apt.conf.d/acklab-slim'), SLIM_APT);
  for (const sub of ['var/cache/apt', 'var/cache/apt/archives', 'var/lib/apt/lists', 'usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale']) {
    const full = path.join(dir, sub);
    for (const entry of await readdir(full).catch(() => [] as string[])) {
      if (['partial', 'lock', 'archives', 'locale.alias'].includes(entry)) continue;
      await rm(path.join(full, entry), { recursive: true, force: true });
    }
  }
  await rm(path.join(dir, 'debootstrap'), { recursive: true, force: true });
}

/** `tar -C dir -c . | docker import - REF` through the engine API (works with a remote DOCKER_HOST too). */
async function importRoot(images: ImageClient, dir: string, ref: string): Promise<string> {
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = [ref.slice(0, colon), ref.slice(colon + 1)];
  const labels = createLabels({ role: 'image' });
  const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErr = '';
  tar.stderr.on('data', (d: Buffer) => (tarErr += d.toString()));
  const tarDone = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  let id: string;
  try {
    id = await images.importRoot(tar.stdout, { repo, tag, changes: ['CMD ["bash"]', ...Object.entries(labels).map(([k, v]) => `LABEL ${k}=${v}`)] });
  } catch (err) {
    throw new AcklabError(`docker import of the bootstrapped root failed: ${errorMessage(err)}`, 1, { cause: err });
  }
  const code = await tarDone;
  if (code !== 0) throw new AcklabError(`tar -C ${dir} -c . failed (exit ${code}): ${tarErr.trim()}`);
  return id;
}
