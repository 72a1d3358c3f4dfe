/**
 * The one place dockerode clients are made: one per engine address. Without an address dockerode
 * reads DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH itself, so a remote or rootless engine
 * works as it does for the docker CLI; `unix://`, `tcp://` and `ssh://` addresses name others.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { UsageError } from '../common/index.js';
import { DockerContainerClient } from './docker-containers.js';
import { DockerEngineClient, engineHost } from './docker-engine.js';
import { DockerImageClient } from './docker-images.js';
import { SshAgent, sshTarget } from './ssh.js';
import { DockerNetworkClient } from './docker-networks.js';
import type { Runtime } from './types.js';

const clients = new Map<string, Docker>();

/**
 * dockerode options for an engine address (`unix:///run/x.sock`, `tcp://host:2375`,
 * `https://host:2376`, `ssh://user@host`). As for the docker CLI: an https engine is verified with
 * the client certificate in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) when that is set, and an
 * ssh engine through the system ssh client (its config, keys, agent and known_hosts).
 */
export function dockerOptions(address: string, env: NodeJS.ProcessEnv = process.env): Docker.DockerOptions {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new UsageError(`"${address}" is not an engine address; write unix:///path/docker.sock, tcp://host:2375 or ssh://user@host`);
  }
  switch (url.protocol) {
    case 'unix:':
      return { socketPath: url.pathname };
    case 'tcp:':
    case 'http:':
      return { host: url.hostname, port: Number(url.port || 2375), protocol: 'http' };
    case 'https:': {
      const certs = env.DOCKER_CERT_PATH?.trim();
      const tls = certs
        ? { ca: readFileSync(path.join(certs, 'ca.pem')), cert: readFileSync(path.join(certs, 'cert.pem')), key: readFileSync(path.join(certs, 'key.pem')) }
        : {};
      return { host: url.hostname, port: Number(url.port || 2376), protocol: 'https', ...tls };
    }
    case 'ssh:':
      // Plain HTTP over the ssh client's stdin/stdout (src/runtime/ssh.ts); host and port only name
      // the connection for dockerode.
      return { host: url.hostname, port: Number(url.port || 22), protocol: 'http', agent: new SshAgent(sshTarget(url)) } as Docker.DockerOptions;
    default:
      throw new UsageError(`engine address "${address}": scheme ${url.protocol} is not one of unix:, tcp:, https:, ssh:`);
  }
}

function client(address?: string): Docker {
  const key = address ?? '';
  let docker = clients.get(key);
  if (!docker) {
    // DOCKER_HOST=ssh://… goes through the ssh client too, not dockerode's own ssh (which checks no host key).
    const fromEnv = address === undefined && process.env.DOCKER_HOST?.startsWith('ssh://') ? process.env.DOCKER_HOST : undefined;
    const named = address ?? fromEnv;
    docker = named === undefined ? new Docker() : new Docker(dockerOptions(named));
    clients.set(key, docker);
  }
  return docker;
}

/** The runtime over the engine at `address` (default: DOCKER_HOST or the local socket). */
export function dockerRuntime(address?: string): Runtime {
  const docker = client(address);
  return {
    networks: new DockerNetworkClient(docker),
    containers: new DockerContainerClient(docker),
    images: new DockerImageClient(docker),
    engine: new DockerEngineClient(docker, address ?? engineHost(), address !== undefined),
  };
}
