/**
 * Public surface of the lab programs for the rest of acklab (experiment runner, reports): the event
 * types the programs write, the framing parsers, the summary shapes and the mcast order checker.
 * The programs themselves are the entry files echo/main.ts, peer/main.ts and mcast/main.ts.
 */
export * from './events.js';
export { ACK, GREETING, UPDATE, PEER_TOKENS, FramingError, LineParser, TokenParser, type PeerToken, type TokenResult } from './framing.js';
export type { PeerClientSummary, ConnectionRecord } from './peer/client.js';
export type { PeerServerSummary } from './peer/server.js';
export * from './mcast/index.js';
