/**
 * Input files are checked before they are parsed: a regular file (not a directory, not /dev/zero
 * behind a symlink, not a FIFO that never ends), at most 1 MiB (ACKLAB_MAX_FILE_SIZE to change),
 * UTF-8 — each refusal positioned at the file's start, and fast.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadExperimentFile } from '../../../src/experiment/index.js';
import { DEFAULT_MAX_FILE_BYTES, loadTopology, maxFileBytes, readInputFileSync, TopologyError } from '../../../src/topology/index.js';

const dir = mkdtempSync(join(tmpdir(), 'acklab-test-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = join(dir, 'small.yaml');
writeFileSync(small, 'name: ok\nnodes:\n  s: { kind: peer-server }\n');
const zero = join(dir, 'zero.yaml');
symlinkSync('/dev/zero', zero);
const folder = join(dir, 'folder.yaml');
mkdirSync(folder);
const big = join(dir, 'big.yaml');
// 2 MiB of valid YAML comments: the size alone refuses it.
writeFileSync(big, `name: big\n${'# padding padding padding padding padding padding padding padding\n'.repeat(32 * 1024)}`);
const binary = join(dir, 'binary.yaml');
writeFileSync(binary, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
const fifo = join(dir, 'fifo.yaml');
execFileSync('mkfifo', [fifo]);

async function topologyProblem(file: string): Promise<string> {
  const err = await loadTopology(file).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TopologyError);
  return (err as TopologyError).issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.message}`).join('\n');
}

describe('input files', () => {
  it('a regular file under the limit is read', () => {
    expect(readInputFileSync(small)).toContain('name: ok');
    expect(maxFileBytes({})).toBe(DEFAULT_MAX_FILE_BYTES);
  });

  it('a symlink to /dev/zero is refused at once, before reading', async () => {
    const t0 = performance.now();
    expect(await topologyProblem(zero)).toBe(`${zero}:1:1: not a regular file (a character device); give a YAML file`);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a directory and a FIFO are refused (the FIFO without waiting for a writer)', async () => {
    expect(await topologyProblem(folder)).toBe(`${folder}:1:1: not a regular file (a directory); give a YAML file`);
    expect(await topologyProblem(fifo)).toBe(`${fifo}:1:1: not a regular file (a FIFO); give a YAML file`);
  });

  it('a file over 1 MiB is refused by its size; ACKLAB_MAX_FILE_SIZE raises the limit', async () => {
    expect(await topologyProblem(big)).toBe(
      `${big}:1:1: the file is 2.063MiB, larger than the 1MiB acklab reads (set ACKLAB_MAX_FILE_SIZE, e.g. ACKLAB_MAX_FILE_SIZE=4MiB, to raise it)`,
    );
    expect(maxFileBytes({ ACKLAB_MAX_FILE_SIZE: '4MiB' })).toBe(4 * 1024 * 1024);
    expect(readInputFileSync(big, { maxBytes: maxFileBytes({ ACKLAB_MAX_FILE_SIZE: '4MiB' }) })).toMatch(/^name: big/);
    expect(() => maxFileBytes({ ACKLAB_MAX_FILE_SIZE: 'huge' })).toThrow(/^ACKLAB_MAX_FILE_SIZE: "huge" is not a size/);
  });

  it('bytes that are not UTF-8 are refused', async () => {
    expect(await topologyProblem(binary)).toBe(`${binary}:1:1: the file is not UTF-8 text; give a YAML file`);
  });

  it('experiment files get the same checks, as file:line:column problems', async () => {
    for (const [file, what] of [
      [zero, 'not a regular file (a character device)'],
      [folder, 'not a regular file (a directory)'],
      [big, 'larger than the 1MiB acklab reads'],
    ] as const) {
      const err = (await loadExperimentFile(file).catch((e: unknown) => e)) as Error;
      expect(err.message).toContain(`experiment ${file} has 1 problem:\n  ${file}:1:1: `);
      expect(err.message).toContain(what);
    }
  });
});
