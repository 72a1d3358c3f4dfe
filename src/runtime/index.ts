/** The Docker edge: narrow interfaces, their dockerode implementations, and the throwaway container. */
export type * from './types.js';
export { dockerRuntime, dockerOptions } from './docker.js';
export { engineHost } from './docker-engine.js';
export { demux, demuxFrames, parseListening } from './demux.js';
export { withThrowawayContainer, type ThrowawaySpec } from './throwaway.js';
export { NameConflictError } from './docker-errors.js';
