import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  chooseDebianMirror,
  findDebianMirror,
  parseDeb822Sources,
  parseOneLineSources,
  renderDebianSources,
} from '../../../src/images/index.js';

// Placeholder hosts (RFC 2606 .example): the real mirror is only ever read from the machine.
const DEB822 = `Types: deb
# a comment line inside a stanza
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 -----END PGP PUBLIC KEY BLOCK-----
`;

const ONE_LINE = `# main archive
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://one.example/debian/ bookworm main contrib
deb-src http://one.example/debian bookworm main
deb http://one.example/debian-security bookworm-security main # trailing comment
`;

describe('parseDeb822Sources', () => {
  it('reads stanzas, multi-valued fields and continuation lines, with file:line origins', () => {
    const sources = parseDeb822Sources(DEB822, '/etc/apt/sources.list.d/debian.sources');
    expect(sources).toHaveLength(2);
    expect(sources[0]).toEqual({
      types: ['deb'],
      uris: ['http://mirror.example/debian'],
      suites: ['bookworm', 'bookworm-updates'],
      components: ['main'],
      origin: '/etc/apt/sources.list.d/debian.sources:1',
    });
    expect(sources[1]?.suites).toEqual(['bookworm-security']);
    expect(sources[1]?.origin).toBe('/etc/apt/sources.list.d/debian.sources:8');
  });

  it('skips stanzas with Enabled: no', () => {
    const text = 'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n';
    expect(parseDeb822Sources(text, 'x.sources')).toEqual([]);
  });
});

describe('parseOneLineSources', () => {
  it('reads deb and deb-src lines, options in brackets and trailing comments', () => {
    const sources = parseOneLineSources(ONE_LINE, '/etc/apt/sources.list');
    expect(sources.map((s) => [s.types[0], s.uris[0], s.suites[0], s.components])).toEqual([
      ['deb', 'http://one.example/debian/', 'bookworm', ['main', 'contrib']],
      ['deb-src', 'http://one.example/debian', 'bookworm', ['main']],
      ['deb', 'http://one.example/debian-security', 'bookworm-security', ['main']],
    ]);
    expect(sources[2]?.origin).toBe('/etc/apt/sources.list:4');
  });
});

describe('chooseDebianMirror', () => {
  it('takes the entry listing the suite, and the matching security archive (deb822)', () => {
    expect(chooseDebianMirror(parseDeb822Sources(DEB822, 'd.sources'), 'bookworm')).toEqual({
      uri: 'http://mirror.example/debian',
      securityUri: 'http://mirror.example/debian-security',
      origin: 'd.sources:1',
    });
  });

  it('takes the binary entry, not deb-src, and strips the trailing slash (one-line)', () => {
    expect(chooseDebianMirror(parseOneLineSources(ONE_LINE, 'sources.list'), 'bookworm')).toEqual({
      uri: 'http://one.example/debian',
      securityUri: 'http://one.example/debian-security',
      origin: 'sources.list:2',
    });
  });

  it('falls back to a /debian archive of another release (a trixie host bootstraps bookworm)', () => {
    const text = 'deb http://t.example/debian-security trixie-security main\ndeb http://t.example/debian trixie main\n';
    const mirror = chooseDebianMirror(parseOneLineSources(text, 'l'), 'bookworm');
    expect(mirror?.uri).toBe('http://t.example/debian');
    expect(mirror?.securityUri).toBe('http://t.example/debian-security');
  });

  it('finds nothing on a host with only non-Debian archives (Ubuntu)', () => {
    const text = 'deb http://u.example/ubuntu jammy main\ndeb http://u.example/ubuntu jammy-security main\n';
    expect(chooseDebianMirror(parseOneLineSources(text, 'l'), 'bookworm')).toBeUndefined();
  });

  it('ignores URIs debootstrap cannot use', () => {
    const text = 'deb cdrom:[Debian 12]/ bookworm main\ndeb mirror+file:/etc/apt/mirrors.txt bookworm main\n';
    expect(chooseDebianMirror(parseOneLineSources(text, 'l'), 'bookworm')).toBeUndefined();
  });
});

describe('renderDebianSources', () => {
  it('writes a deb822 list with updates and security for the bootstrapped root', () => {
    const text = renderDebianSources({ uri: 'http://m.example/debian', securityUri: 'http://m.example/debian-security', origin: 'x' }, 'bookworm');
    const parsed = parseDeb822Sources(text, 'out');
    expect(parsed.map((s) => [s.uris[0], s.suites])).toEqual([
      ['http://m.example/debian', ['bookworm', 'bookworm-updates']],
      ['http://m.example/debian-security', ['bookworm-security']],
    ]);
  });

  it('has no security stanza when the machine names no security archive', () => {
    expect(parseDeb822Sources(renderDebianSources({ uri: 'http://m.example/debian', origin: 'x' }, 'bookworm'), 'o')).toHaveLength(1);
  });
});

describe('findDebianMirror', () => {
  it('reads /etc/apt/sources.list and sources.list.d under a root, deb822 and .list', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'acklab-apt-'));
    try {
      await mkdir(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
      await writeFile(path.join(root, 'etc/apt/sources.list.d/debian.sources'), DEB822);
      await writeFile(path.join(root, 'etc/apt/sources.list.d/other.list.disabled'), 'deb http://no.example/debian bookworm main\n');
      const mirror = await findDebianMirror('bookworm', {}, root);
      expect(mirror?.uri).toBe('http://mirror.example/debian');
      expect(mirror?.origin).toBe(path.join(root, 'etc/apt/sources.list.d/debian.sources:1'));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('prefers ACKLAB_DEBIAN_MIRROR when the user sets it', async () => {
    const mirror = await findDebianMirror('bookworm', { ACKLAB_DEBIAN_MIRROR: 'http://mine.example/debian/' }, '/nonexistent');
    expect(mirror).toEqual({ uri: 'http://mine.example/debian', origin: 'ACKLAB_DEBIAN_MIRROR' });
  });

  it('returns undefined when there are no sources at all', async () => {
    expect(await findDebianMirror('bookworm', {}, '/nonexistent')).toBeUndefined();
  });
});
