/**
 * Subnets for a lab's networks: the user's, checked against the engine's existing networks, or
 * free /24s from a private pool, so `up` never collides with other labs or the host's networks.
 */
import { cidrsOverlap, formatCidr, parseCidr, type Ipv4Cidr } from '../topology/index.js';

/** Where acklab picks subnets from when a topology gives none: 10.210.0.0 – 10.249.255.0, /24 each. */
export const SUBNET_POOL = { first: parseCidr('10.210.0.0/24').base, last: parseCidr('10.249.255.0/24').base, prefix: 24 };

export interface SubnetRequest {
  name: string;
  subnet?: string;
}

/**
 * Returns a subnet per requested network. `taken` are subnets of existing Docker networks with
 * their network names (for messages). Throws when a user subnet overlaps an existing network.
 * Free /24s are taken from a random place in the pool (`random` in [0, 1)), so labs started at the
 * same moment by different processes rarely reach for the same one; the caller creates the
 * network and chooses again if it lost the race anyway.
 */
export function chooseSubnets(requests: SubnetRequest[], taken: { network: string; subnet: string }[], random: () => number = Math.random): Map<string, string> {
  const used: { network: string; cidr: Ipv4Cidr }[] = [];
  for (const t of taken) {
    try {
      used.push({ network: t.network, cidr: parseCidr(t.subnet) });
    } catch {
      // Networks outside /8–/28 (e.g. a /30) cannot be parsed by parseCidr; widen them by hand.
      const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(t.subnet);
      if (m) {
        const base = m[1]!.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
        const prefix = Math.min(Math.max(Number(m[2]), 1), 32);
        const mask = (0xffffffff << (32 - prefix)) >>> 0;
        used.push({ network: t.network, cidr: { base: (base & mask) >>> 0, prefix } });
      }
    }
  }
  const out = new Map<string, string>();
  for (const r of requests) {
    if (r.subnet === undefined) continue;
    const cidr = parseCidr(r.subnet);
    const clash = used.find((u) => cidrsOverlap(u.cidr, cidr));
    if (clash) {
      throw new Error(
        `network "${r.name}": subnet ${r.subnet} overlaps the existing Docker network "${clash.network}" (${formatCidr(clash.cidr)}); choose another subnet or omit it to let acklab pick one`,
      );
    }
    used.push({ network: r.name, cidr });
    out.set(r.name, formatCidr(cidr));
  }
  const blocks = (SUBNET_POOL.last - SUBNET_POOL.first) / 256 + 1;
  for (const r of requests) {
    if (r.subnet !== undefined) continue;
    const start = Math.floor(random() * blocks) % blocks;
    let found = false;
    for (let i = 0; i < blocks && !found; i++) {
      const cidr = { base: (SUBNET_POOL.first + ((start + i) % blocks) * 256) >>> 0, prefix: SUBNET_POOL.prefix };
      if (used.some((u) => cidrsOverlap(u.cidr, cidr))) continue;
      used.push({ network: r.name, cidr });
      out.set(r.name, formatCidr(cidr));
      found = true;
    }
    if (!found) throw new Error(`no free /24 left in ${formatCidr({ base: SUBNET_POOL.first, prefix: 24 })}…${formatCidr({ base: SUBNET_POOL.last, prefix: 24 })} for network "${r.name}"`);
  }
  return out;
}
