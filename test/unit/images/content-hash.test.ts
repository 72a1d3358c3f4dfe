import { describe, expect, it } from 'vitest';
import { contentHash, TAG_HASH_LENGTH, type HashInputs } from '../../../src/images/index.js';

const base: HashInputs = {
  files: [
    { path: 'Dockerfile', mode: 0o644, content: 'FROM x\n' },
    { path: 'bin/echo.mjs', mode: 0o755, content: 'console.log(1)\n' },
  ],
  buildArgs: { BASE: 'debian:bookworm-slim' },
  baseImageId: 'sha256:aaa',
};

describe('contentHash', () => {
  it('is a short hex tag, stable for the same inputs in any file order', () => {
    const h = contentHash(base);
    expect(h).toMatch(new RegExp(`^[0-9a-f]{${TAG_HASH_LENGTH}}$`));
    expect(contentHash({ ...base, files: [...base.files].reverse() })).toBe(h);
    expect(contentHash({ ...base, files: base.files.map((f) => ({ ...f, content: Buffer.from(String(f.content)) })) })).toBe(h);
  });

  it.each([
    ['a program changes', { files: [base.files[0]!, { ...base.files[1]!, content: 'console.log(2)\n' }] }],
    ['the Dockerfile changes', { files: [{ ...base.files[0]!, content: 'FROM y\n' }, base.files[1]!] }],
    ['a file loses its executable bit', { files: [base.files[0]!, { ...base.files[1]!, mode: 0o644 }] }],
    ['a file is renamed', { files: [base.files[0]!, { ...base.files[1]!, path: 'bin/peer.mjs' }] }],
    ['a helper source is added', { files: [...base.files, { path: 'helper/a.c', mode: 0o644, content: 'int main(){}' }] }],
    ['the base image id changes', { baseImageId: 'sha256:bbb' }],
    ['a build argument changes', { buildArgs: { BASE: 'acklab/base-debian:bookworm' } }],
  ])('changes when %s', (_what, change) => {
    expect(contentHash({ ...base, ...change })).not.toBe(contentHash(base));
  });

  it('ignores mode bits other than executable', () => {
    expect(contentHash({ ...base, files: [{ ...base.files[0]!, mode: 0o600 }, base.files[1]!] })).toBe(contentHash(base));
  });

  it('cannot be fooled by moving bytes between path and content', () => {
    const a = contentHash({ ...base, files: [{ path: 'ab', mode: 0o644, content: 'c' }] });
    const b = contentHash({ ...base, files: [{ path: 'a', mode: 0o644, content: 'bc' }] });
    expect(a).not.toBe(b);
  });

  it('rejects two files with the same path', () => {
    expect(() => contentHash({ ...base, files: [base.files[0]!, base.files[0]!] })).toThrow(/duplicate build-context path: Dockerfile/);
  });
});
