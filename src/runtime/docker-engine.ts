/**
 * The engine as acklab sees it: reachable or not, and the facts `doctor` reports.
 * Installing/starting an engine is scripts/ensure-engine.sh's job (it runs before node does).
 */
import type Docker from 'dockerode';
import { AcklabError, errorMessage } from '../common/index.js';
import type { EngineClient, EngineFacts, EngineSwarm, SwarmClient, SwarmInfo, SwarmNode } from './types.js';

/** Where a client without an explicit host talks to: DOCKER_HOST or the default socket. */
export function engineHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
}

interface DockerSwarmInfo {
  LocalNodeState?: string;
  ControlAvailable?: boolean;
  NodeAddr?: string;
  NodeID?: string;
  RemoteManagers?: { Addr?: string }[] | null;
}

function swarmOf(s: DockerSwarmInfo | undefined): EngineSwarm {
  return {
    state: s?.LocalNodeState || 'inactive',
    manager: s?.ControlAvailable === true,
    nodeAddr: s?.NodeAddr ?? '',
    managers: (s?.RemoteManagers ?? []).map((m) => m.Addr ?? '').filter(Boolean),
    nodeId: s?.NodeID ?? '',
  };
}

export class DockerEngineClient implements EngineClient {
  readonly swarm: SwarmClient;

  /** `named`: the engine is one a topology names, not the one acklab talks to by default. */
  constructor(
    private readonly docker: Docker,
    readonly host: string,
    private readonly named = false,
  ) {
    this.swarm = new DockerSwarmClient(docker, host);
  }

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
      // The local engine can be started here; an engine a topology names is someone else's machine.
      const what = this.named
        ? ': check the address, and that the engine runs there and this machine may reach it'
        : ': run scripts/ensure-engine.sh (make lab and make test run it), or set DOCKER_HOST to a running engine';
      throw new AcklabError(`no Docker engine answers at ${this.host} (${errorMessage(err)})${what}`, 1, { cause: err });
    }
  }
}

/** Swarm mode through the engine's API (what `docker swarm init|join|leave` and `docker node update` call). */
class DockerSwarmClient implements SwarmClient {
  constructor(
    private readonly docker: Docker,
    private readonly host: string,
  ) {}

  private async call<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new AcklabError(`${what} on the engine at ${this.host}: ${errorMessage(err)}`, 1, { cause: err });
    }
  }

  async init({ advertiseAddr, labels }: { advertiseAddr?: string; labels: Record<string, string> }): Promise<void> {
    await this.call('swarm init', () =>
      this.docker.swarmInit({ ListenAddr: '0.0.0.0:2377', ...(advertiseAddr ? { AdvertiseAddr: advertiseAddr } : {}), Spec: { Labels: labels } }),
    );
  }

  async join({ managerAddr, token, advertiseAddr }: { managerAddr: string; token: string; advertiseAddr?: string }): Promise<void> {
    await this.call('swarm join', () =>
      this.docker.swarmJoin({ ListenAddr: '0.0.0.0:2377', RemoteAddrs: [managerAddr], JoinToken: token, ...(advertiseAddr ? { AdvertiseAddr: advertiseAddr } : {}) }),
    );
  }

  async leave(force: boolean): Promise<void> {
    await this.call('swarm leave', () => this.docker.swarmLeave({ force }));
  }

  async inspect(): Promise<SwarmInfo> {
    const s = (await this.call('swarm inspect', () => this.docker.swarmInspect())) as { ID?: string; Spec?: { Labels?: Record<string, string> }; JoinTokens?: { Worker?: string } };
    return { id: s.ID ?? '', labels: s.Spec?.Labels ?? {}, workerToken: s.JoinTokens?.Worker ?? '' };
  }

  async nodes(): Promise<SwarmNode[]> {
    const list = (await this.call('node ls', () => this.docker.listNodes())) as { ID: string; Spec?: { Role?: string; Labels?: Record<string, string> }; Status?: { Addr?: string } }[];
    return list.map((n) => ({ id: n.ID, role: n.Spec?.Role === 'manager' ? 'manager' : 'worker', addr: n.Status?.Addr ?? '', labels: n.Spec?.Labels ?? {} }));
  }

  async labelNode(id: string, labels: Record<string, string>): Promise<void> {
    await this.call(`node update ${id}`, async () => {
      const node = this.docker.getNode(id);
      const info = (await node.inspect()) as { Version: { Index: number }; Spec: { Labels?: Record<string, string> } & Record<string, unknown> };
      // The node's whole spec goes back with the labels added (an update replaces the spec), at the version read.
      await node.update({ _query: { version: info.Version.Index }, _body: { ...info.Spec, Labels: { ...(info.Spec.Labels ?? {}), ...labels } } });
    });
  }

  async removeNode(id: string): Promise<void> {
    await this.call(`node rm ${id}`, () => this.docker.getNode(id).remove({ force: true }));
  }

  async serviceCount(): Promise<number> {
    return (await this.call('service ls', () => this.docker.listServices())).length;
  }
}
