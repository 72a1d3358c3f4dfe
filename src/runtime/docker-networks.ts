/** NetworkClient over dockerode. */
import type Docker from 'dockerode';
import { fail, ignoreGone, short } from './docker-errors.js';
import type { NetworkClient, NetworkInfo, NetworkSpec } from './types.js';

/** The overlay driver's option naming a network's VXLAN ids. */
export const VXLAN_ID_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';

function toInfo(n: Docker.NetworkInspectInfo): NetworkInfo {
  const vni = Number(n.Options?.[VXLAN_ID_OPTION]?.split(',')[0]);
  return {
    id: n.Id,
    name: n.Name,
    labels: n.Labels ?? {},
    subnets: (n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => !!s && s.includes('.')),
    driver: n.Driver,
    internal: n.Internal,
    ...(Number.isInteger(vni) && vni > 0 ? { vxlanId: vni } : {}),
  };
}

export class DockerNetworkClient implements NetworkClient {
  constructor(private readonly docker: Docker) {}

  async create(spec: NetworkSpec): Promise<NetworkInfo> {
    const net = await this.docker
      .createNetwork({
        Name: spec.name,
        Driver: spec.driver ?? 'bridge',
        CheckDuplicate: true,
        Internal: spec.internal ?? false,
        Attachable: spec.attachable ?? false,
        Labels: spec.labels,
        IPAM: { Driver: 'default', Config: spec.subnet ? [{ Subnet: spec.subnet }] : [] },
        ...(spec.vxlanId === undefined ? {} : { Options: { [VXLAN_ID_OPTION]: String(spec.vxlanId) } }),
      })
      .catch(fail(`create network ${spec.name}${spec.subnet ? ` (${spec.subnet})` : ''}`));
    // Read back what the engine gave (its IPAM picks the subnet when none was asked for).
    const info = (await this.docker.getNetwork(net.id).inspect().catch(fail(`inspect network ${spec.name}`))) as Docker.NetworkInspectInfo;
    return toInfo(info);
  }

  async list(labels?: string[]): Promise<NetworkInfo[]> {
    const nets = await this.docker.listNetworks(labels ? { filters: { label: labels } } : {}).catch(fail('list networks'));
    return nets.map(toInfo);
  }

  async connect(networkId: string, containerId: string, aliases: string[]): Promise<void> {
    await this.docker
      .getNetwork(networkId)
      .connect({ Container: containerId, EndpointConfig: { Aliases: aliases } })
      .catch(fail(`connect container ${short(containerId)} to network ${short(networkId)}`));
  }

  async remove(id: string): Promise<void> {
    await this.docker.getNetwork(id).remove().catch(ignoreGone).catch(fail(`remove network ${short(id)}`));
  }
}
