/**
 * An engine at `ssh://user@host[:port]`, reached the way the docker CLI reaches one: the system
 * `ssh` client runs `docker system dial-stdio` on the remote machine, and its stdin and stdout carry
 * the engine API's HTTP. So everything a user has set up for ssh applies — ~/.ssh/config, keys, the
 * agent at SSH_AUTH_SOCK, ProxyJump — and above all the host key is checked against known_hosts
 * (BatchMode: an unknown or changed host key, or a password prompt, fails at once with ssh's own
 * words instead of hanging or trusting).
 *
 * Each connection is one ssh process; the HTTP agent keeps idle ones for reuse (a handshake costs
 * tens of milliseconds and every API call would pay it), ends them after IDLE_MS, and starts at
 * most HANDSHAKES_AT_ONCE at the same time: OpenSSH's sshd drops new connections at random beyond
 * ten unauthenticated ones (MaxStartups 10:30:100), and an `up` of many nodes asks for dozens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { Duplex } from 'node:stream';

export interface SshTarget {
  host: string;
  port?: number;
  user?: string;
}

/** Idle connections are ended after this long. */
export const IDLE_MS = 10_000;
/** ssh processes allowed to be connecting (no byte back from the engine yet) at the same time. */
export const HANDSHAKES_AT_ONCE = 6;
/** A connection that has sent nothing back after this long no longer counts as connecting. */
const HANDSHAKE_SLOT_MS = 15_000;

/** The ssh client's arguments for one connection to the engine at `target` (pure). */
export function sshArgv(target: SshTarget): string[] {
  return [
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=30',
    '-T',
    ...(target.user ? ['-l', target.user] : []),
    ...(target.port !== undefined ? ['-p', String(target.port)] : []),
    '--', target.host,
    'docker', 'system', 'dial-stdio',
  ];
}

/** `ssh://user@host:port` → its target (an IPv6 host loses its brackets). */
export function sshTarget(url: URL): SshTarget {
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(url.port ? { port: Number(url.port) } : {}),
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
  };
}

function describe(target: SshTarget): string {
  return `ssh://${target.user ? `${target.user}@` : ''}${target.host}${target.port !== undefined ? `:${target.port}` : ''}`;
}

/** Hands out HANDSHAKES_AT_ONCE slots; the rest wait in order. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(count: number) {
    this.free = count;
  }
  take(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.waiting.shift();
          if (next) next();
          else this.free += 1;
        });
      };
      if (this.free > 0) {
        this.free -= 1;
        grant();
      } else this.waiting.push(grant);
    });
  }
}

/**
 * One ssh process as the socket of an HTTP connection. It has the few net.Socket methods the HTTP
 * agent and client call (ref, unref, setTimeout, setKeepAlive, setNoDelay); an ssh that fails —
 * before or during the connection — destroys it with ssh's last words on stderr.
 */
export class SshSocket extends Duplex {
  private readonly child: ChildProcess;
  private stderr = '';
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = 0;
  private gotData = false;

  constructor(
    readonly target: SshTarget,
    command: string,
    private readonly onFirstData: () => void,
  ) {
    super();
    this.child = spawn(command, sshArgv(target), { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdout, stderr, stdin } = this.child as ChildProcess & { stdout: NodeJS.ReadableStream; stderr: NodeJS.ReadableStream; stdin: NodeJS.WritableStream };
    stdout.on('data', (chunk: Buffer) => {
      this.touch();
      if (!this.gotData) {
        this.gotData = true;
        this.onFirstData();
      }
      if (!this.push(chunk)) stdout.pause();
    });
    // The end of the output is told at the process's exit (below): only then is it known whether
    // ssh ended well or failed, with its reason on stderr.
    stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-2000);
    });
    stdin.on('error', () => {
      // A closed pipe shows up as the process's exit below, with ssh's reason.
    });
    this.child.on('error', (err: NodeJS.ErrnoException) => {
      this.onFirstData();
      const why = err.code === 'ENOENT' ? `"${command}" was not found on PATH (the engine ${describe(target)} is reached through the ssh client)` : err.message;
      this.destroy(new Error(`engine ${describe(target)}: ${why}`));
    });
    this.child.on('close', (code, signal) => {
      this.onFirstData();
      this.clearIdle();
      if (this.destroyed) return;
      if (code === 0) {
        this.push(null);
        return;
      }
      const said = this.stderr.trim().split('\n').filter((line) => line.trim() !== '').slice(-3).join(' / ');
      const how = code !== null ? `exit ${code}` : `signal ${signal}`;
      this.destroy(new Error(`engine ${describe(target)}: ssh ended (${how})${said ? `: ${said}` : ''}`));
    });
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.touch();
    const stdin = this.child.stdin;
    if (!stdin || stdin.destroyed) {
      done(new Error(`engine ${describe(this.target)}: the ssh connection is closed`));
      return;
    }
    stdin.write(chunk, () => done());
  }

  override _final(done: (err?: Error | null) => void): void {
    this.child.stdin?.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.clearIdle();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    done(err);
  }

  /** Keeps the process alive while the connection is in use; the agent unrefs idle ones. */
  ref(): this {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { ref?: () => void } | null)?.ref?.();
    return this;
  }

  unref(): this {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    return this;
  }

  /** As net.Socket: emits 'timeout' after `ms` without traffic (0: never). */
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    if (callback) this.once('timeout', callback);
    this.touch();
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  private touch(): void {
    this.clearIdle();
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.idleTimer.unref();
    }
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

/**
 * The HTTP agent of one ssh engine: a connection is an ssh process (SshSocket), idle ones are kept
 * for reuse and ended after IDLE_MS, and at most HANDSHAKES_AT_ONCE are connecting at a time.
 */
export class SshAgent extends http.Agent {
  private readonly slots = new Slots(HANDSHAKES_AT_ONCE);
  private readonly command: string;
  private readonly idleMs: number;

  /** `command`: the ssh client (default `ssh` on PATH); `idleMs`: how long an idle connection is kept. */
  constructor(
    readonly target: SshTarget,
    options: { command?: string; idleMs?: number } = {},
  ) {
    super({ keepAlive: true });
    this.command = options.command ?? 'ssh';
    this.idleMs = options.idleMs ?? IDLE_MS;
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): undefined {
    void this.slots.take().then((release) => {
      const timer = setTimeout(release, HANDSHAKE_SLOT_MS);
      timer.unref();
      const socket = new SshSocket(this.target, this.command, () => {
        clearTimeout(timer);
        release();
      });
      callback?.(null, socket);
    });
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    (socket as SshSocket).setTimeout(this.idleMs);
    (socket as SshSocket).unref();
    return true;
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    (socket as SshSocket).setTimeout(0);
    // Refs the socket, and takes off the error listener the agent put on it while it was idle.
    super.reuseSocket(socket as never, request);
  }
}
