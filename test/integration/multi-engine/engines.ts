/**
 * Two extra Docker engines in network namespaces, in one swarm (scripts/multi-engine.sh), for the
 * tests of a lab across engines: started once per test file, always removed afterwards — also when
 * the test process is interrupted (SIGINT/SIGTERM) — and only the ones this process started.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, expect } from 'vitest';
import { dockerRuntime } from '../../../src/runtime/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCRIPT = path.join(ROOT, 'scripts/multi-engine.sh');

export interface Engines {
  id: string;
  a: string;
  b: string;
  subnet: string;
  /** Their addresses on the bridge (what they advertise to a swarm). */
  addrA: string;
  addrB: string;
  /** With `tls`: engine b's API over https, and the DOCKER_CERT_PATH that reaches it. */
  bHttps?: string;
  certs?: string;
  /** With `ssh`: engine b through an sshd in its namespace (ssh://root@ADDR_B), and folders to put
   *  first on PATH whose `ssh` has the run's key and b's host key — or, WRONG_KEY, another host key. */
  bSsh?: string;
  sshPath?: string;
  sshPathWrongKey?: string;
  /** Seconds `up` took (netns, bridge, two dockerds, and swarm init + join unless asked not to). */
  upSeconds: number;
}

/** Why this machine cannot run the engines (the script's own words), or undefined when it can. */
export function cannotRun(): string | undefined {
  if (process.env.ACKLAB_SKIP_MULTI_ENGINE === '1') return 'ACKLAB_SKIP_MULTI_ENGINE=1';
  const r = spawnSync(SCRIPT, ['check'], { encoding: 'utf8' });
  if (r.error) return `${SCRIPT} cannot run: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim().replace(/^multi-engine: /, '') || `check exited ${r.status}`;
  return undefined;
}

const started = new Set<string>();
function downNow(): void {
  for (const id of started) spawnSync(SCRIPT, ['down', id], { stdio: 'ignore' });
  started.clear();
}
let hooked = false;
function hookSignals(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      downNow();
      process.kill(process.pid, sig);
    });
  }
  process.once('exit', downNow);
}

type EnginesOptions = { swarm?: boolean; tls?: boolean; ssh?: boolean };

/** The engines of a describe block and its work folder, once its beforeAll has run. */
export interface EngineSuite {
  readonly engines: Engines;
  readonly work: string;
}

/**
 * In the calling describe block: before its tests, a work folder and the two engines (`options`);
 * after them, its labs taken down (`downLabs`), the engines removed, nothing of them left on this
 * machine, and the work folder removed (kept with ACKLAB_KEEP_TEST_DIRS=1).
 */
export function useEngines(options: EnginesOptions & { upTimeoutMs: number }, downLabs: () => Promise<void>): EngineSuite {
  let engines: Engines | undefined;
  let work: string | undefined;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'acklab-me-'));
    engines = await enginesUp(options);
    const b = engines.bSsh ?? engines.bHttps ?? engines.b;
    console.log(`engines ${engines.id}${options.swarm === false ? ' (no swarm)' : ''}: a=${engines.a} (${engines.addrA}) b=${b} (${engines.addrB}) on ${engines.subnet}, up in ${engines.upSeconds.toFixed(1)} s`);
  }, options.upTimeoutMs);
  afterAll(async () => {
    if (engines) {
      // The labs first (through the CLI's own path), then the engines themselves.
      await downLabs();
      const id = engines.id;
      await enginesDown(engines);
      expect(leftovers(id)).toEqual([]);
    }
    if (work && process.env.ACKLAB_KEEP_TEST_DIRS !== '1') await rm(work, { recursive: true, force: true });
  }, 300_000);
  return {
    get engines(): Engines {
      if (!engines) throw new Error('the engines are not up (their beforeAll failed or has not run)');
      return engines;
    },
    get work(): string {
      if (!work) throw new Error('no work folder (the beforeAll has not run)');
      return work;
    },
  };
}

/** Two engines, in a swarm of the two unless `swarm: false`; with `tls`, b also answers over https, with `ssh` over ssh. */
export async function enginesUp(options: EnginesOptions = {}): Promise<Engines> {
  hookSignals();
  // The id is chosen here, so a failure after the script made something is still removed by id.
  const id = `${process.pid.toString(16).slice(-3)}${Math.floor(Math.random() * 0xfff).toString(16).padStart(3, '0')}`;
  started.add(id);
  const t0 = performance.now();
  const r = await execa(SCRIPT, ['up', id, ...(options.swarm === false ? ['--no-swarm'] : []), ...(options.tls ? ['--tls'] : []), ...(options.ssh ? ['--ssh'] : [])], { reject: false, timeout: 300_000 });
  const upSeconds = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`${SCRIPT} up ${id} failed (exit ${r.exitCode}): ${r.stderr}`);
  const vars = Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=', 2) as [string, string]));
  return {
    id,
    a: vars.ME_A!,
    b: vars.ME_B!,
    addrA: vars.ME_ADDR_A!,
    addrB: vars.ME_ADDR_B!,
    ...(vars.ME_B_HTTPS ? { bHttps: vars.ME_B_HTTPS, certs: vars.ME_CERTS! } : {}),
    ...(vars.ME_B_SSH ? { bSsh: vars.ME_B_SSH, sshPath: vars.ME_SSH_PATH!, sshPathWrongKey: vars.ME_SSH_PATH_WRONG_KEY! } : {}),
    subnet: vars.ME_SUBNET!,
    upSeconds,
  };
}

export async function enginesDown(e: Engines | undefined): Promise<void> {
  if (!e) return;
  const r = await execa(SCRIPT, ['down', e.id], { reject: false, timeout: 180_000 });
  started.delete(e.id);
  if (r.exitCode !== 0) throw new Error(`${SCRIPT} down ${e.id} failed: ${r.stderr}`);
}

/** What is left of engines `id` on this machine: namespaces, links, rules, folders (empty when all gone). */
export function leftovers(id: string): string[] {
  const out: string[] = [];
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout ?? '';
  for (const line of run('ip', ['netns', 'list']).split('\n')) if (line.includes(`ackme-${id}`)) out.push(`netns ${line}`);
  for (const line of run('ip', ['-o', 'link']).split('\n')) if (line.includes(`ackbr-${id}`) || line.includes(`ak${id}`)) out.push(`link ${line.split(':')[1]?.trim()}`);
  for (const line of run('iptables', ['-S', 'FORWARD']).split('\n')) if (line.includes(`ackbr-${id}`)) out.push(`rule ${line}`);
  for (const dir of [`/run/ackme-${id}`, `/var/lib/ackme-${id}`]) if (spawnSync('test', ['-e', dir]).status === 0) out.push(`dir ${dir}`);
  for (const line of run('ps', ['-eo', 'pid,args']).split('\n')) if (line.includes(`ackme-${id}`) && line.includes('dockerd')) out.push(`process ${line.trim()}`);
  return out;
}

/** `manager`, `worker` or the state (inactive…) of the swarm of the engine at `address`. */
export async function place(address: string): Promise<string> {
  const s = (await dockerRuntime(address).engine.facts()).swarm!;
  return s.state === 'active' ? (s.manager ? 'manager' : 'worker') : s.state;
}

/** For `node -e CONNECT PEER` in a node: a TCP connection to PEER (by name, across engines) on a closed port; prints "reached" when refused. */
export const CONNECT = `const s=require('net').connect({host:process.argv[1],port:9,timeout:2000});s.on('error',e=>{console.log(e.code==='ECONNREFUSED'?'reached':e.code);s.destroy()});s.on('timeout',()=>{console.log('timeout');s.destroy()})`;
