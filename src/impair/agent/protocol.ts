/**
 * The control protocol between acklab and the agent resident in each node's shaper sidecar: one
 * JSON object per line, both ways, over a stream the engine opens into the sidecar (an exec whose
 * stdin stays open, bridged to the agent's unix socket). Requests carry an `id`; the agent answers
 * each with the same `id`; a connection that sent `watch` also receives events, unsolicited.
 */
import type { BackendProbe } from '../probe.js';
import type { Backend } from '../model.js';
import type { Addressing, NodeOp, NodeState, Stage } from '../render.js';

/** Where the agent listens inside the sidecar, and how a client reaches it. */
export const AGENT_SOCKET = '/run/acklab/agent.sock';
export const AGENT_CONNECT: readonly string[] = ['socat', '-', `UNIX-CONNECT:${AGENT_SOCKET}`];
export const AGENT_DAEMON: readonly string[] = ['acklab-agent', 'daemon'];
export const AGENT_PROTOCOL = 1;

/** One timeline step as one node sees it: its ops, due `atMs` after the timeline's zero. */
export interface ScheduledStep {
  id: string;
  atMs: number;
  ops: NodeOp[];
}

export type AgentRequest =
  | { op: 'hello' }
  /** The node's name, every node's addresses (peers' rules name them), the run's seed for helpers. */
  | { op: 'configure'; node: string; addressing: Addressing; seed?: number }
  /** Changes now; answers once they are in force. */
  | { op: 'change'; ops: NodeOp[] }
  /**
   * Stages every step's resources now; answers once all are staged. With `t0Ms` the steps are
   * armed at once (each at t0Ms + atMs), else they wait for `start`.
   */
  | { op: 'schedule'; steps: ScheduledStep[]; t0Ms?: number }
  /** The timeline's zero (epoch ms): arms every staged step at t0Ms + its atMs. */
  | { op: 'start'; t0Ms: number }
  /** Drops scheduled steps not yet switched (all, or those named). */
  | { op: 'cancel'; ids?: string[] }
  | { op: 'status' }
  /** Subscribes this connection to events. */
  | { op: 'watch' }
  /** Removes every condition and the chains and trees themselves. */
  | { op: 'teardown' };

export type AgentRequestWithId = AgentRequest & { id: number };

export interface Hello {
  protocol: number;
  node: string | null;
  backend: BackendProbe;
  devices: string[];
  nowMs: number;
  pid: number;
  /** Armed steps run at real-time priority (the sidecar has CAP_SYS_NICE and a real-time budget). */
  realtime: boolean;
}

/** When a batch put a state in force. `dueMs` is set for scheduled steps. */
export interface SwitchRecord {
  stepId?: string;
  dueMs?: number;
  /** When the agent began the switch (its timer fired, or the change arrived). */
  firedAtMs: number;
  /** When the kernel's rules were in force (iptables-restore returned). */
  switchedAtMs: number;
  ok: boolean;
  error?: string;
}

export interface Problem {
  atMs: number;
  reason: string;
}

export interface HelperState {
  queue: number;
  to: string;
  pid: number | null;
  alive: boolean;
  stats?: Record<string, number>;
}

export interface AgentStatus {
  node: string | null;
  backend: Backend;
  /** See Hello.realtime. */
  realtime: boolean;
  /** The rules' generation in force (src/impair/iptables.ts); 0 before the first switch. */
  generation: number;
  devices: string[];
  state: NodeState;
  stages: Stage[];
  helpers: HelperState[];
  /** Steps not yet switched: `atMs` after the zero, `dueMs` once started. */
  pending: (ScheduledStep & { dueMs?: number })[];
  records: SwitchRecord[];
  problems: Problem[];
  /** What the kernel holds, as it prints it: `iptables-save -c`, `tc -s qdisc` per device, the NFQUEUE listeners. */
  kernel: { iptablesSave: string; qdiscs: Record<string, string>; nfqueue: string };
}

export type AgentEvent =
  | ({ event: 'switched' } & SwitchRecord)
  | ({ event: 'problem' } & Problem)
  | { event: 'alive'; nowMs: number };

export type AgentResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
