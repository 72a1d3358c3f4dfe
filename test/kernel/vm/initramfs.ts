/**
 * An initramfs, written as a `newc` cpio archive (the format the kernel unpacks, see the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst), uncompressed: under emulation the
 * kernel would spend longer inflating it than qemu spends loading 20 MB.
 *
 * Host binaries go in with every library `ldd` names and the dynamic loader, at their host paths
 * folded onto merged /usr (/lib → /usr/lib, …), so a binary finds its libraries where it was linked.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

interface Entry {
  mode: number;
  data: Buffer;
  rdev?: [number, number];
}

/** /lib/x → /usr/lib/x etc.: the image is merged-/usr whatever the host is. */
export function imagePath(p: string): string {
  for (const top of ['/lib/', '/lib64/', '/bin/', '/sbin/']) if (p.startsWith(top)) return `/usr${p}`;
  return p;
}

export class Initramfs {
  private readonly entries = new Map<string, Entry>();

  constructor() {
    for (const d of ['/usr/lib', '/usr/lib64', '/usr/bin', '/usr/sbin']) this.dir(d);
    for (const top of ['lib', 'lib64', 'bin', 'sbin']) this.symlink(`/${top}`, `usr/${top}`);
    // The kernel opens /dev/console for init's stdin/stdout before anything is mounted.
    this.dir('/dev');
    this.entries.set('/dev/console', { mode: S_IFCHR | 0o600, data: Buffer.alloc(0), rdev: [5, 1] });
  }

  dir(p: string): this {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = `/${parts.slice(0, i).join('/')}`;
      if (!this.entries.has(d)) this.entries.set(d, { mode: S_IFDIR | 0o755, data: Buffer.alloc(0) });
    }
    return this;
  }

  file(p: string, data: Buffer | string, mode = 0o644): this {
    this.dir(path.posix.dirname(p));
    this.entries.set(p, { mode: S_IFREG | mode, data: Buffer.isBuffer(data) ? data : Buffer.from(data) });
    return this;
  }

  symlink(p: string, target: string): this {
    this.dir(path.posix.dirname(p));
    this.entries.set(p, { mode: S_IFLNK | 0o777, data: Buffer.from(target) });
    return this;
  }

  has(p: string): boolean {
    return this.entries.has(p);
  }

  /** A host file (symlinks followed) at `at` (default: its host path, folded onto /usr). */
  hostFile(hostPath: string, at = imagePath(hostPath), mode?: number): this {
    const real = realpathSync(hostPath);
    return this.file(at, readFileSync(real), mode ?? statSync(real).mode & 0o777);
  }

  /**
   * Host executables or shared objects, each with the libraries `ldd` lists for it (one ldd call
   * for all of them) and the dynamic loader. Static files simply bring no libraries.
   */
  elves(files: readonly { host: string; at?: string }[]): this {
    for (const f of files) this.hostFile(f.host, f.at);
    for (const lib of lddLibraries(files.map((f) => f.host))) {
      const at = imagePath(lib);
      if (!this.has(at)) this.hostFile(lib, at);
    }
    return this;
  }

  /** Every file of a host folder (not recursive), e.g. iptables' extension plugins. */
  hostDir(dir: string, filter: (name: string) => boolean = () => true): string[] {
    const names = readdirSync(dir).filter((n) => filter(n) && statSync(path.join(dir, n)).isFile());
    return names.map((n) => path.join(dir, n));
  }

  /** The archive. Parents come before children (the kernel does not create missing folders). */
  toBuffer(): Buffer {
    const names = [...this.entries.keys()].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
    const chunks: Buffer[] = [];
    let ino = 1;
    for (const name of names) {
      const e = this.entries.get(name)!;
      chunks.push(...record(name.slice(1), e.mode, e.data, ino++, e.rdev));
    }
    chunks.push(...record('TRAILER!!!', 0, Buffer.alloc(0), 0));
    return Buffer.concat(chunks);
  }
}

function depth(p: string): number {
  return p.split('/').length;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

function record(name: string, mode: number, data: Buffer, ino: number, rdev: [number, number] = [0, 0]): Buffer[] {
  const nameBuf = Buffer.from(`${name}\0`);
  const isDir = (mode & 0o170000) === S_IFDIR;
  const header =
    '070701' +
    [ino, mode, 0, 0, isDir ? 2 : 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex8).join('');
  const head = Buffer.concat([Buffer.from(header, 'latin1'), nameBuf]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

/** Absolute library paths (and the loader) that ldd names for the given files. */
export function lddLibraries(files: readonly string[]): string[] {
  if (files.length === 0) return [];
  let text: string;
  try {
    text = execFileSync('ldd', [...files], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // ldd exits 1 when one of several files is static ("not a dynamic executable"); its stdout is still complete.
    text = String((err as { stdout?: string }).stdout ?? '');
  }
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /=>\s+(\/\S+)\s+\(/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (m) out.add(m[1]!);
    if (/=>\s+not found/.test(line)) throw new Error(`ldd: a library is missing on this host: ${line.trim()}`);
  }
  return [...out];
}
