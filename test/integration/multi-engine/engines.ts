/**
 * Two extra Docker engines in network namespaces, in one swarm (scripts/multi-engine.sh), for the
 * tests of a lab across engines: started once per test file, always removed afterwards — also when
 * the test process is interrupted (SIGINT/SIGTERM) — and only the ones this process started.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SCRIPT = path.join(ROOT, 'scripts/multi-engine.sh');

export interface Engines {
  id: string;
  a: string;
  b: string;
  subnet: string;
  /** Seconds `up` took (netns, bridge, two dockerds, swarm init + join). */
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

export async function enginesUp(): Promise<Engines> {
  hookSignals();
  // The id is chosen here, so a failure after the script made something is still removed by id.
  const id = `${process.pid.toString(16).slice(-3)}${Math.floor(Math.random() * 0xfff).toString(16).padStart(3, '0')}`;
  started.add(id);
  const t0 = performance.now();
  const r = await execa(SCRIPT, ['up', id], { reject: false, timeout: 180_000 });
  const upSeconds = (performance.now() - t0) / 1000;
  if (r.exitCode !== 0) throw new Error(`${SCRIPT} up ${id} failed (exit ${r.exitCode}): ${r.stderr}`);
  const vars = Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=', 2) as [string, string]));
  return { id, a: vars.ME_A!, b: vars.ME_B!, subnet: vars.ME_SUBNET!, upSeconds };
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
