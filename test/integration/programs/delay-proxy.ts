/**
 * A loopback TCP proxy that delays traffic per direction, for tests that need a slow or jittery link
 * without tc: listen on 127.0.0.1:<port>, forward to 127.0.0.1:<target>. Every chunk is held for
 * `baseMs + U(0, jitterMs)` but never released before the chunk ahead of it (a TCP stream cannot be
 * reordered, only stretched in time). Jitter comes from a seeded PRNG, so a run can be repeated.
 */
import net from 'node:net';

export interface Delay {
  baseMs: number;
  jitterMs: number;
}

/** mulberry32: a tiny seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class DelayProxy {
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** `forward`: data from whoever connects to the target; `backward`: the target's replies. */
  static async start(opts: { target: number; forward: Delay; backward: Delay; random: () => number }): Promise<DelayProxy> {
    let proxy!: DelayProxy;
    // Half-open both ways: a FIN is passed on only after the delayed data ahead of it.
    const server = net.createServer({ allowHalfOpen: true }, (client) => proxy.relay(client, opts));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    proxy = new DelayProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket, opts: { target: number; forward: Delay; backward: Delay; random: () => number }): void {
    const upstream = net.connect({ host: '127.0.0.1', port: opts.target, allowHalfOpen: true });
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.setNoDelay(true);
      // A refused or reset side closes the other: the program sees what it would see on a real link.
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.once('close', () => this.sockets.delete(s));
    }
    this.pipe(client, upstream, opts.forward, opts.random);
    this.pipe(upstream, client, opts.backward, opts.random);
  }

  /** from → to, each chunk due at max(previous due, now + delay); one timer per direction keeps FIFO. */
  private pipe(from: net.Socket, to: net.Socket, delay: Delay, random: () => number): void {
    const queue: { due: number; chunk: Buffer }[] = [];
    let lastDue = 0;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const pump = () => {
      if (timer) this.timers.delete(timer);
      timer = undefined;
      while (queue.length > 0 && queue[0]!.due <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!to.destroyed) to.write(chunk);
      }
      if (queue.length > 0) {
        timer = setTimeout(pump, Math.max(0, queue[0]!.due - Date.now()));
        this.timers.add(timer);
      } else if (ended && !to.destroyed) {
        to.end();
      }
    };
    from.on('data', (chunk: Buffer) => {
      lastDue = Math.max(lastDue, Date.now() + delay.baseMs + random() * delay.jitterMs);
      queue.push({ due: lastDue, chunk });
      if (!timer) pump();
    });
    from.once('end', () => {
      ended = true;
      if (!timer) pump();
    });
  }
}
