/** Names and subnets: node and network names are DNS labels inside the lab (Docker aliases). */

// RFC 1123 label, lower case only: Docker's DNS is case-insensitive, so "A" and "a" would collide.
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Why `name` is not a valid DNS label, or undefined when it is. */
export function dnsNameProblem(name: string): string | undefined {
  if (DNS_LABEL.test(name)) return undefined;
  return `"${name}" is not a valid name: use 1–63 lower-case letters, digits and "-", starting and ending with a letter or digit (it becomes a DNS name inside the lab)`;
}

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** Parses "10.1.2.0/24"; throws a message saying what is allowed. */
export function parseCidr(text: string): Ipv4Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255)) {
    throw new Error(`"${text}" is not an IPv4 subnet; write it like "10.10.1.0/24"`);
  }
  if (prefix < 8 || prefix > 28) throw new Error(`subnet "${text}" has prefix /${prefix}; allowed /8 to /28`);
  const ip = octets.reduce((acc, o) => (acc * 256 + o) >>> 0, 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const base = (ip & mask) >>> 0;
  if (base !== ip) {
    throw new Error(`subnet "${text}" has host bits set; did you mean "${intToIp(base)}/${prefix}"?`);
  }
  return { base, prefix };
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = (0xffffffff << (32 - p)) >>> 0;
  return ((a.base & mask) >>> 0) === ((b.base & mask) >>> 0);
}

// The image reference grammar of distribution/reference (what `docker run` accepts):
// [domain[:port]/]path[:tag][@digest], lower-case path components joined by ".", "_", "__" or "-".
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_REF = new RegExp(
  `^(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);

/** Why `ref` is not an image reference Docker accepts, or undefined when it is. */
export function imageRefProblem(ref: string): string | undefined {
  const shown = JSON.stringify(ref);
  if (ref.length > 255) return `image reference ${shown.slice(0, 40)}… is longer than 255 characters`;
  // A domain part (before the first "/") may hold upper case; the rest of the name may not.
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const looksLikeDomain = first.includes('.') || first.includes(':') || first === 'localhost';
  const rest = slash < 0 || !looksLikeDomain ? ref : ref.slice(slash + 1);
  const name = rest.split('@')[0]!.replace(/:[^/]*$/, '');
  if (/[A-Z]/.test(name)) return `image reference ${shown} has upper-case letters in its name; repository names are lower case`;
  if (!IMAGE_REF.test(ref)) {
    return `${shown} is not an image reference; write it like "alpine:3.20", "registry.local:5000/team/app:1.2" or "app@sha256:<digest>"`;
  }
  return undefined;
}

/** The most nodes one lab may have unless the caller raises it (`--max-nodes`): each is a container. */
export const DEFAULT_MAX_NODES = 100;

/** The engine addresses a topology may name (the schemes src/runtime's dockerOptions takes), and `local`. */
export const ENGINE_SCHEMES = ['unix', 'tcp', 'https', 'ssh'] as const;
export const LOCAL_ENGINE = 'local';

/** Why `address` is not an engine address, or undefined when it is. */
export function engineAddressProblem(address: string): string | undefined {
  if (address === LOCAL_ENGINE) return undefined;
  const allowed = `write unix:///path/docker.sock, tcp://host:2376, https://host:2376, ssh://user@host, or ${LOCAL_ENGINE}`;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return `"${address}" is not an engine address; ${allowed}`;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!(ENGINE_SCHEMES as readonly string[]).includes(scheme)) return `engine address "${address}": scheme ${scheme}: is not one of ${ENGINE_SCHEMES.map((s) => `${s}:`).join(', ')}; ${allowed}`;
  if (scheme === 'unix' ? url.pathname === '' || url.pathname === '/' : url.hostname === '') return `engine address "${address}" names no ${scheme === 'unix' ? 'socket path' : 'host'}; ${allowed}`;
  return undefined;
}

/**
 * Why `value` is not an address an engine can advertise to a swarm (an IPv4 address, optionally
 * with :port, or a network interface name), or undefined when it is.
 */
export function advertiseAddressProblem(value: string): string | undefined {
  const ip = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d{1,5}))?$/.exec(value);
  if (ip) {
    if (ip.slice(1, 5).some((o) => Number(o) > 255)) return `"${value}" is not an IPv4 address`;
    if (ip[5] !== undefined && (Number(ip[5]) < 1 || Number(ip[5]) > 65535)) return `"${value}": port ${ip[5]} is not in 1–65535`;
    return undefined;
  }
  if (/^[A-Za-z][A-Za-z0-9_.-]{0,14}$/.test(value)) return undefined;
  return `"${value}" is neither an IPv4 address (optionally :port) nor a network interface name (e.g. eth0)`;
}
