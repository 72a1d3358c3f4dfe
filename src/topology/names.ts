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
