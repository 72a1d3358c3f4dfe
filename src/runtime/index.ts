/** The Docker edge: narrow interfaces and their dockerode implementations. */
export type * from './types.js';
export { DockerContainerClient, DockerImageClient, DockerNetworkClient, demux, parseListening } from './docker-runtime.js';
export { dockerClient } from './docker.js';

import { DockerContainerClient, DockerImageClient, DockerNetworkClient } from './docker-runtime.js';
import type { ContainerClient, ImageClient, NetworkClient } from './types.js';

export interface Runtime {
  networks: NetworkClient;
  containers: ContainerClient;
  images: ImageClient;
}

/** The runtime over the shared dockerode client. */
export function dockerRuntime(): Runtime {
  return { networks: new DockerNetworkClient(), containers: new DockerContainerClient(), images: new DockerImageClient() };
}
