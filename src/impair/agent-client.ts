/**
 * acklab's side of the agent protocol: one exec into the sidecar whose stdin stays open (`socat`
 * bridging it to the agent's socket), so every request after the first costs a line each way, not
 * a `docker exec`. Requests are answered by id; events (when watching) go to the listener; the
 * end of the stream (the sidecar stopped, the agent died) is reported through `closed`.
 */
import { AcklabError, errorMessage } from '../common/index.js';
import type { ContainerClient, ExecSession } from '../runtime/index.js';
import { AGENT_CONNECT, type AgentEvent, type AgentRequest, type AgentResponse, type AgentStatus, type Hello, type ScheduledStep, type SwitchRecord } from './agent/protocol.js';
import type { Addressing, NodeOp } from './render.js';

export const AGENT_REQUEST_TIMEOUT_MS = 30_000;
/** How long a new sidecar's agent may take to answer (node start-up, kernel probe) on a busy machine. */
export const AGENT_START_TIMEOUT_MS = 30_000;

export class AgentClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly listeners = new Set<(e: AgentEvent) => void>();
  private buffered = '';
  private ended = false;
  /** Resolves with why, when the stream to the agent ends. */
  readonly closed: Promise<string>;

  private constructor(
    readonly node: string,
    private readonly session: ExecSession,
  ) {
    let reason = 'the control stream to the agent ended';
    session.stdout.setEncoding('utf8');
    session.stdout.on('data', (chunk: string) => this.data(chunk));
    session.stderr.on('data', (chunk: Buffer) => (reason = `the control stream to the agent ended: ${chunk.toString().trim()}`));
    this.closed = session.exited.then(() => {
      this.ended = true;
      for (const w of this.waiting.values()) {
        clearTimeout(w.timer);
        w.reject(new AcklabError(`node "${node}": ${reason}`));
      }
      this.waiting.clear();
      return reason;
    });
  }

  /** Connects to the agent of a sidecar, waiting (bounded) for a new one to come up. */
  static async connect(containers: ContainerClient, sidecarId: string, node: string, timeoutMs = AGENT_START_TIMEOUT_MS): Promise<AgentClient> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (let delay = 25; ; delay = Math.min(delay * 2, 500)) {
      const client = new AgentClient(node, await containers.openExec(sidecarId, [...AGENT_CONNECT]));
      try {
        await client.request<Hello>({ op: 'hello' }, 5_000);
        return client;
      } catch (err) {
        last = errorMessage(err);
        client.close();
      }
      if (Date.now() + delay > deadline) throw new AcklabError(`node "${node}": the shaper agent did not answer within ${timeoutMs / 1000} s (${last})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  request<T>(req: AgentRequest, timeoutMs = AGENT_REQUEST_TIMEOUT_MS): Promise<T> {
    if (this.ended) return Promise.reject(new AcklabError(`node "${this.node}": the control stream to the agent has ended`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new AcklabError(`node "${this.node}": the agent did not answer ${req.op} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.session.stdin.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  hello(): Promise<Hello> {
    return this.request({ op: 'hello' });
  }

  configure(node: string, addressing: Addressing, seed?: number): Promise<void> {
    return this.request({ op: 'configure', node, addressing, ...(seed !== undefined ? { seed } : {}) });
  }

  change(ops: NodeOp[]): Promise<SwitchRecord> {
    return this.request({ op: 'change', ops });
  }

  schedule(steps: ScheduledStep[], t0Ms?: number): Promise<{ staged: number }> {
    return this.request({ op: 'schedule', steps, ...(t0Ms !== undefined ? { t0Ms } : {}) });
  }

  start(t0Ms: number): Promise<{ armed: number }> {
    return this.request({ op: 'start', t0Ms });
  }

  status(): Promise<AgentStatus> {
    return this.request({ op: 'status' });
  }

  teardown(): Promise<void> {
    return this.request({ op: 'teardown' });
  }

  /** Subscribes to the agent's events (switches, problems, a beat every second). */
  async watch(listener: (e: AgentEvent) => void): Promise<void> {
    this.listeners.add(listener);
    await this.request({ op: 'watch' });
  }

  close(): void {
    this.ended = true;
    this.session.close();
  }

  private data(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line.trim() === '') continue;
      let msg: AgentResponse | AgentEvent;
      try {
        msg = JSON.parse(line) as AgentResponse | AgentEvent;
      } catch {
        continue; // not ours (a stray line on the stream)
      }
      if ('event' in msg) {
        for (const l of this.listeners) l(msg);
        continue;
      }
      const w = this.waiting.get(msg.id);
      if (!w) continue;
      this.waiting.delete(msg.id);
      clearTimeout(w.timer);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new AcklabError(`node "${this.node}": ${msg.error}`));
    }
  }
}
