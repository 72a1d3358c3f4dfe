/**
 * The engine as acklab sees it: reachable or not, and the facts `doctor` reports.
 * Installing/starting an engine is scripts/ensure-engine.sh's job (it runs before node does).
 */
import type Docker from 'dockerode';
import { AcklabError, errorMessage } from '../common/index.js';
import type { EngineClient, EngineFacts, EngineSwarm } from './types.js';

/** Where a client without an explicit host talks to: DOCKER_HOST or the default socket. */
export function engineHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
}

interface DockerSwarmInfo {
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  NodeAddr?: string;
  RemoteManagers?: { Addr?: string }[] | null;
}

function swarmOf(s: DockerSwarmInfo | undefined): EngineSwarm {
  return {
    state: s?.LocalNodeState || 'inactive',
    manager: s?.ControlAvailable === true,
    nodeAddr: s?.NodeAddr ?? '',
    managers: (s?.RemoteManagers ?? []).map((m) => m.Addr ?? '').filter(Boolean),
  };
}

export class DockerEngineClient implements EngineClient {
  constructor(
    private readonly docker: Docker,
    readonly host: string,
  ) {}

  async facts(): Promise<EngineFacts> {
    try {
      const [version, info] = await Promise.all([this.docker.version(), this.docker.info() as Promise<Record<string, unknown>>]);
      return {
        version: version.Version,
        apiVersion: version.ApiVersion,
        storageDriver: String(info.Driver ?? 'unknown'),
        cgroupVersion: String(info.CgroupVersion ?? 'unknown'),
        cgroupDriver: String(info.CgroupDriver ?? 'unknown'),
        kernelVersion: String(info.KernelVersion ?? 'unknown'),
        operatingSystem: String(info.OperatingSystem ?? 'unknown'),
        host: this.host,
        swarm: swarmOf(info.Swarm as DockerSwarmInfo | undefined),
      };
    } catch (err) {
      throw new AcklabError(
        `no Docker engine answers at ${this.host} (${errorMessage(err)}): run scripts/ensure-engine.sh ` +
          '(make lab and make test run it), or set DOCKER_HOST to a running engine',
        1,
        { cause: err },
      );
    }
  }
}
