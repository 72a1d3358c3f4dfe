/**
 * A Debian kernel unpacked by scripts/ensure-kernel-vm.sh (`dpkg -x`, never installed): its vmlinuz
 * and its modules, with the load order worked out from each module's own `depends=` (what
 * `modinfo -F depends` prints; the package has no modules.dep, depmod runs only on install).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

export interface KernelTree {
  /** The folder ensure-kernel-vm.sh printed (holds boot/ and lib/). */
  dir: string;
  /** e.g. linux-image-6.1.0-57-amd64_6.1.192-3_amd64.deb */
  packageFile: string;
  release: string;
  vmlinuz: string;
  modulesDir: string;
}

export function kernelTree(dir: string): KernelTree {
  const boot = path.join(dir, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`no vmlinuz-* in ${boot}`);
  const release = vmlinuz.slice('vmlinuz-'.length);
  const modulesDir = path.join(dir, 'lib', 'modules', release);
  if (!existsSync(modulesDir)) throw new Error(`no modules for ${release} in ${modulesDir}`);
  const pkgFile = path.join(dir, '.package');
  return {
    dir,
    packageFile: existsSync(pkgFile) ? readFileSync(pkgFile, 'utf8').trim() : path.basename(dir),
    release,
    vmlinuz: path.join(boot, vmlinuz),
    modulesDir,
  };
}

export interface ModuleFile {
  name: string;
  /** Path on the host (possibly .ko.xz / .ko.zst). */
  file: string;
}

const KO = /\.ko(\.xz|\.zst)?$/;

/** name (with '-' read as '_', as the kernel does) → file, for every module in the tree. */
function indexModules(modulesDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (KO.test(e.name)) out.set(e.name.replace(KO, '').replace(/-/g, '_'), p);
    }
  };
  walk(path.join(modulesDir, 'kernel'));
  return out;
}

function builtins(modulesDir: string): Set<string> {
  const f = path.join(modulesDir, 'modules.builtin');
  if (!existsSync(f)) return new Set();
  return new Set(
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => path.basename(l).replace(KO, '').replace(/-/g, '_')),
  );
}

/** The module's bytes, decompressed if the package ships .ko.xz / .ko.zst (busybox insmod takes plain .ko). */
export function moduleBytes(file: string): Buffer {
  if (file.endsWith('.xz')) return execFileSync('xz', ['-dc', file], { maxBuffer: 1 << 28 });
  if (file.endsWith('.zst')) return execFileSync('zstd', ['-dc', file], { maxBuffer: 1 << 28 });
  return readFileSync(file);
}

/** The `depends=` field of the module's .modinfo section. */
export function moduleDepends(bytes: Buffer): string[] {
  const key = Buffer.from('\0depends=');
  const i = bytes.indexOf(key);
  if (i < 0) return [];
  const start = i + key.length;
  const end = bytes.indexOf(0, start);
  const v = bytes.subarray(start, end).toString('latin1');
  return v ? v.split(',').map((s) => s.replace(/-/g, '_')) : [];
}

/**
 * `wanted` and everything they depend on, dependencies first (the order insmod needs). A wanted
 * module built into the kernel is skipped; one that is neither a file nor built in is an error.
 */
export function resolveModules(tree: KernelTree, wanted: readonly string[]): ModuleFile[] {
  const index = indexModules(tree.modulesDir);
  const builtin = builtins(tree.modulesDir);
  const order: ModuleFile[] = [];
  const seen = new Set<string>();
  const visit = (raw: string, chain: string[]): void => {
    const name = raw.replace(/-/g, '_');
    if (seen.has(name)) return;
    seen.add(name);
    const file = index.get(name);
    if (!file) {
      if (builtin.has(name)) return;
      throw new Error(`kernel ${tree.release} has no module "${name}"${chain.length ? ` (needed by ${chain.join(' <- ')})` : ''}`);
    }
    for (const d of moduleDepends(moduleBytes(file))) visit(d, [name, ...chain]);
    order.push({ name, file });
  };
  for (const w of wanted) visit(w, []);
  return order;
}
