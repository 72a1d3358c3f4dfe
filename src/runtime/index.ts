/** The Docker edge: narrow interfaces, their dockerode implementations, and the throwaway container. */
export type * from './types.js';
export { dockerRuntime, dockerOptions } from './docker.js';
export { SshAgent, sshArgv, sshTarget, HANDSHAKES_AT_ONCE } from './ssh.js';
export { engineHost } from './docker-engine.js';
export { demux, demuxFrames, parseListening } from './demux.js';
export { withThrowawayContainer, type ThrowawaySpec } from './throwaway.js';
export { NameConflictError } from './docker-errors.js';
export { multiEngineRuntime, engineMembers } from './multi-engine.js';
