/**
 * The agent's control server: a unix socket inside the sidecar, one JSON object per line. Each
 * connection is a client (acklab's controller, through `socat` in an exec); a connection that
 * sends `watch` gets every event from then on, plus an `alive` beat every second.
 */
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { errorMessage } from '../../common/errors.js';
import type { AgentCore } from './core.js';
import type { AgentEvent, AgentRequestWithId, AgentResponse } from './protocol.js';

const MAX_LINE = 4 * 1024 * 1024;

export class AgentServer {
  private readonly watchers = new Set<net.Socket>();
  private readonly server: net.Server;
  private beat: NodeJS.Timeout | undefined;

  constructor(private readonly core: AgentCore) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Sends an event to every watcher. */
  broadcast(e: AgentEvent): void {
    const line = `${JSON.stringify(e)}\n`;
    for (const w of this.watchers) if (!w.destroyed) w.write(line);
  }

  async listen(socketPath: string): Promise<void> {
    mkdirSync(path.dirname(socketPath), { recursive: true });
    rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(socketPath, resolve);
    });
    this.beat = setInterval(() => this.broadcast({ event: 'alive', nowMs: Date.now() }), 1000);
    this.beat.unref();
  }

  close(): void {
    clearInterval(this.beat);
    this.server.close();
    for (const w of this.watchers) w.destroy();
  }

  private accept(socket: net.Socket): void {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE) return void socket.destroy();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') void this.handle(socket, line);
      }
    });
    socket.on('close', () => this.watchers.delete(socket));
    socket.on('error', () => this.watchers.delete(socket));
  }

  private async handle(socket: net.Socket, line: string): Promise<void> {
    let req: AgentRequestWithId;
    try {
      req = JSON.parse(line) as AgentRequestWithId;
    } catch (err) {
      return this.reply(socket, { id: -1, ok: false, error: `not JSON: ${errorMessage(err)}` });
    }
    try {
      this.reply(socket, { id: req.id, ok: true, result: await this.dispatch(socket, req) });
    } catch (err) {
      this.reply(socket, { id: req.id, ok: false, error: errorMessage(err) });
    }
  }

  private async dispatch(socket: net.Socket, req: AgentRequestWithId): Promise<unknown> {
    switch (req.op) {
      case 'hello':
        return this.core.hello();
      case 'configure':
        return this.core.configure(req.node, req.addressing, req.seed);
      case 'change':
        return this.core.change(req.ops);
      case 'schedule':
        return this.core.schedule(req.steps, req.t0Ms);
      case 'start':
        return this.core.start(req.t0Ms);
      case 'cancel':
        return this.core.cancel(req.ids);
      case 'status':
        return this.core.status();
      case 'watch':
        this.watchers.add(socket);
        return { watching: true };
      case 'teardown':
        return this.core.teardown();
      default:
        throw new Error(`unknown op ${JSON.stringify((req as { op?: unknown }).op)}`);
    }
  }

  private reply(socket: net.Socket, r: AgentResponse): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
  }
}
