import { mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { afterEach, describe, expect, it } from 'vitest';
import { copyRoot, entryTarget, unpackArchive } from '../../../src/lab/index.js';

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('docker cp semantics', () => {
  it('entryTarget puts the top entry at the root and refuses paths that leave it', () => {
    expect(entryTarget('out/a/b.txt', '/dest/out')).toBe('/dest/out/a/b.txt');
    expect(entryTarget('file.txt', '/dest/renamed.txt')).toBe('/dest/renamed.txt');
    expect(() => entryTarget('out/../../etc/passwd', '/dest')).toThrow('refusing archive entry "out/../../etc/passwd": it leaves the destination');
  });

  it('copyRoot: into an existing folder under its own name, else as the destination', async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'acklab-copy-'));
    const dir = tmp;
    expect(await copyRoot('/home/acklab/out/', dir)).toBe(path.join(dir, 'out'));
    expect(await copyRoot('/x/delivered.jsonl', path.join(dir, 'd.jsonl'))).toBe(path.join(dir, 'd.jsonl'));
  });

  it('unpacks files, folders and symlinks, keeping file modes', async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'acklab-copy-'));
    mkdirSync(path.join(tmp, 'dest'));
    const dir = tmp;
    const tar = pack();
    tar.entry({ name: 'out/', type: 'directory' });
    tar.entry({ name: 'out/run.sh', mode: 0o755 }, '#!/bin/sh\n');
    tar.entry({ name: 'out/link', type: 'symlink', linkname: 'run.sh' });
    tar.finalize();
    const written = await unpackArchive(Readable.from(tar), path.join(dir, 'dest', 'out'));
    expect(written).toEqual([path.join(dir, 'dest/out/run.sh')]);
    expect(readFileSync(path.join(dir, 'dest/out/run.sh'), 'utf8')).toBe('#!/bin/sh\n');
    expect(statSync(path.join(dir, 'dest/out/run.sh')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(path.join(dir, 'dest/out/link'))).toBe('run.sh');
  });
});
