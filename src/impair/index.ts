/** Network conditions put in force: pure tc/iptables/helper builders, plans, the kernel probe, sidecars, the controller, read-back. */
export * from './model.js';
export * from './spec-comment.js';
export * from './tc.js';
export * from './iptables.js';
export * from './helper.js';
export * from './render.js';
export * from './lab-ops.js';
export * from './agent-client.js';
export type * from './agent/protocol.js';
export { AGENT_CONNECT, AGENT_DAEMON, AGENT_SOCKET } from './agent/protocol.js';
export * from './state.js';
export * from './probe.js';
export * from './sidecars.js';
export * from './executor.js';
export * from './readback.js';
export * from './controller.js';
export * from './handle.js';
export * from './links.js';
