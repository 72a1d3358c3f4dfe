/**
 * Reads the machine's apt sources to find the Debian mirror a base image is bootstrapped from.
 * No mirror host name is ever written in the repo: it comes from /etc/apt at run time (or from
 * ACKLAB_DEBIAN_MIRROR, which the user sets).
 *
 * Both formats are understood: deb822 `*.sources` files (sources.list(5) "DEB822-STYLE FORMAT")
 * and one-line `sources.list` / `*.list` files.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

export interface AptSource {
  /** `deb`, `deb-src`. */
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** Where the entry came from, `file:line`, for messages. */
  origin: string;
}

export interface DebianMirror {
  /** The archive mirror, e.g. `http://<host>/debian`. */
  uri: string;
  /** The security archive, when the machine's sources name one. */
  securityUri?: string;
  /** Where the mirror was found, for messages. */
  origin: string;
}

/** Parses a deb822 `.sources` file: stanzas separated by blank lines, `Field: value`, continuation lines start with a blank. */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  let fields = new Map<string, string>();
  let startLine = 0;
  let lastKey: string | undefined;
  const flush = (): void => {
    if (fields.size > 0) {
      const enabled = (fields.get('enabled') ?? 'yes').trim().toLowerCase();
      if (enabled !== 'no') {
        sources.push({
          types: words(fields.get('types')),
          uris: words(fields.get('uris')),
          suites: words(fields.get('suites')),
          components: words(fields.get('components')),
          origin: `${file}:${startLine}`,
        });
      }
    }
    fields = new Map();
    lastKey = undefined;
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    if (raw.startsWith('#')) return;
    if (raw.trim() === '') {
      flush();
      return;
    }
    if (/^[ \t]/.test(raw)) {
      // A continuation line belongs to the previous field (multi-line Signed-By keys, long URIs lists).
      if (lastKey !== undefined) fields.set(lastKey, `${fields.get(lastKey) ?? ''}\n${raw.trim()}`);
      return;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) return;
    if (fields.size === 0) startLine = index + 1;
    lastKey = raw.slice(0, colon).trim().toLowerCase();
    fields.set(lastKey, raw.slice(colon + 1).trim());
  });
  flush();
  return sources;
}

/** Parses one-line format: `deb [options] uri suite [component...]`. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const match = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!match) return;
    const [, type, uri, suite, rest] = match as unknown as [string, string, string, string, string];
    sources.push({ types: [type], uris: [uri], suites: [suite], components: words(rest), origin: `${file}:${index + 1}` });
  });
  return sources;
}

const MIRROR_SCHEMES = /^(https?|ftp|file):/;

/**
 * Picks the Debian mirror to bootstrap `suite` from:
 * 1. a `deb` entry that lists `suite` itself;
 * 2. else a `deb` entry of another Debian release whose URI path ends in `/debian` (same archive,
 *    other codename — a Debian trixie host can bootstrap bookworm from its mirror).
 * The security archive is the entry listing `<suite>-security`, else one whose path ends in `/debian-security`.
 * Returns undefined when no entry fits (e.g. an Ubuntu host): the caller asks for ACKLAB_DEBIAN_MIRROR.
 */
export function chooseDebianMirror(sources: AptSource[], suite: string): DebianMirror | undefined {
  const binary = sources.filter((s) => s.types.includes('deb'));
  const usable = (s: AptSource): string | undefined => s.uris.find((u) => MIRROR_SCHEMES.test(u));
  const isSecurity = (s: AptSource): boolean => s.suites.some((x) => x.endsWith('-security') || x.includes('/updates'));

  let mirror: { uri: string; origin: string } | undefined;
  for (const s of binary) {
    const uri = usable(s);
    if (uri && s.suites.includes(suite)) {
      mirror = { uri, origin: s.origin };
      break;
    }
  }
  if (!mirror) {
    for (const s of binary) {
      const uri = s.uris.find((u) => MIRROR_SCHEMES.test(u) && /\/debian\/?$/.test(u));
      if (uri && !isSecurity(s)) {
        mirror = { uri, origin: s.origin };
        break;
      }
    }
  }
  if (!mirror) return undefined;

  let securityUri: string | undefined;
  for (const s of binary) {
    const uri = usable(s);
    if (uri && s.suites.includes(`${suite}-security`)) {
      securityUri = uri;
      break;
    }
  }
  if (!securityUri) {
    for (const s of binary) {
      const uri = s.uris.find((u) => MIRROR_SCHEMES.test(u) && /\/debian-security\/?$/.test(u));
      if (uri) {
        securityUri = uri;
        break;
      }
    }
  }
  return { uri: stripSlash(mirror.uri), origin: mirror.origin, ...(securityUri ? { securityUri: stripSlash(securityUri) } : {}) };
}

/** The deb822 sources file written into a bootstrapped root, so `apt-get install` works in `docker build`. */
export function renderDebianSources(mirror: DebianMirror, suite: string): string {
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const stanzas = [
    ['Types: deb', `URIs: ${mirror.uri}`, `Suites: ${suite} ${suite}-updates`, 'Components: main', `Signed-By: ${keyring}`],
  ];
  if (mirror.securityUri) {
    stanzas.push(['Types: deb', `URIs: ${mirror.securityUri}`, `Suites: ${suite}-security`, 'Components: main', `Signed-By: ${keyring}`]);
  }
  return `${stanzas.map((s) => s.join('\n')).join('\n\n')}\n`;
}

/** Reads every apt source under `root` (default `/`): etc/apt/sources.list, sources.list.d/*.list and *.sources. */
export async function readAptSources(root = '/'): Promise<AptSource[]> {
  const etc = path.join(root, 'etc/apt');
  const sources: AptSource[] = [];
  const main = path.join(etc, 'sources.list');
  const text = await readFile(main, 'utf8').catch(() => undefined);
  if (text !== undefined) sources.push(...parseOneLineSources(text, main));
  const dir = path.join(etc, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(await readFile(file, 'utf8'), file));
    else if (name.endsWith('.list')) sources.push(...parseOneLineSources(await readFile(file, 'utf8'), file));
  }
  return sources;
}

/** The mirror to bootstrap from: ACKLAB_DEBIAN_MIRROR if set, else the machine's apt sources. */
export async function findDebianMirror(
  suite: string,
  env: NodeJS.ProcessEnv = process.env,
  root = '/',
): Promise<DebianMirror | undefined> {
  const override = env.ACKLAB_DEBIAN_MIRROR?.trim();
  if (override) {
    const security = env.ACKLAB_DEBIAN_SECURITY_MIRROR?.trim();
    return { uri: stripSlash(override), origin: 'ACKLAB_DEBIAN_MIRROR', ...(security ? { securityUri: stripSlash(security) } : {}) };
  }
  return chooseDebianMirror(await readAptSources(root), suite);
}

function words(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/\s+/).filter((w) => w !== '');
}

function stripSlash(uri: string): string {
  return uri.replace(/\/+$/, '');
}
