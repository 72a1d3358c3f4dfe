/**
 * Probing the backend without a lab: a throwaway shaper container with its own network namespace
 * (only lo) and NET_ADMIN runs the probe, then is removed. For `acklab doctor` and dry runs.
 */
import { createLabels } from '../common/index.js';
import { DockerContainerClient } from '../runtime/docker-runtime.js';
import { dockerClient } from '../runtime/docker.js';
import { type BackendProbe, probeBackend } from './probe.js';

export async function probeBackendInContainer(shaperImage: string, docker = dockerClient()): Promise<BackendProbe> {
  const containers = new DockerContainerClient(docker);
  const c = await docker.createContainer({
    Image: shaperImage,
    Cmd: ['sleep', '60'],
    Labels: createLabels({ role: 'probe' }),
    HostConfig: { NetworkMode: 'none', CapAdd: ['NET_ADMIN'], AutoRemove: false },
  });
  try {
    await c.start();
    return await probeBackend((argv) => containers.exec(c.id, [...argv]));
  } finally {
    await containers.remove(c.id).catch(() => undefined);
  }
}
