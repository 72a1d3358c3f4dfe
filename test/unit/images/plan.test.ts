import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/common/index.js';
import { BOOTSTRAP_BASE, DEFAULT_BASES, chooseBase, imageTag, parseBaseImageOptions } from '../../../src/images/index.js';

const present = (...refs: string[]) => (ref: string) => refs.includes(ref);

describe('chooseBase', () => {
  it.each([
    ['default present', 'node', undefined, [DEFAULT_BASES.node], { action: 'use', ref: 'node:20-bookworm-slim' }],
    ['default beats an earlier bootstrap', 'shaper', undefined, [DEFAULT_BASES.shaper, BOOTSTRAP_BASE], { action: 'use', ref: 'debian:bookworm-slim' }],
    ['earlier bootstrap reused, no pull', 'node', undefined, [BOOTSTRAP_BASE], { action: 'use', ref: BOOTSTRAP_BASE }],
    ['nothing present: pull, then bootstrap', 'shaper', undefined, [], { action: 'pull', ref: 'debian:bookworm-slim', onFailure: 'bootstrap' }],
    ['requested and present', 'node', 'node:18-slim', ['node:18-slim'], { action: 'use', ref: 'node:18-slim' }],
    ['requested, absent: pull or fail, never a substitute', 'node', 'node:18-slim', [BOOTSTRAP_BASE], { action: 'pull', ref: 'node:18-slim', onFailure: 'fail' }],
    ['bootstrap requested, cached', 'node', 'bootstrap', [BOOTSTRAP_BASE, DEFAULT_BASES.node], { action: 'use', ref: BOOTSTRAP_BASE }],
    ['bootstrap requested, not cached', 'shaper', 'bootstrap', [DEFAULT_BASES.shaper], { action: 'bootstrap', ref: BOOTSTRAP_BASE }],
  ] as const)('%s', (_what, role, requested, refs, expected) => {
    expect(chooseBase(role, requested, present(...refs))).toEqual(expected);
  });
});

describe('parseBaseImageOptions', () => {
  it('reads ROLE=IMAGE, repeated', () => {
    expect(parseBaseImageOptions(['node=node:18-slim', 'shaper=debian:12'])).toEqual({ node: 'node:18-slim', shaper: 'debian:12' });
  });

  it('reads bare "bootstrap" as both roles', () => {
    expect(parseBaseImageOptions(['bootstrap'])).toEqual({ node: 'bootstrap', shaper: 'bootstrap' });
  });

  it('lets a later value win for one role', () => {
    expect(parseBaseImageOptions(['bootstrap', 'node=node:20-slim'])).toEqual({ node: 'node:20-slim', shaper: 'bootstrap' });
  });

  it.each(['node:20-slim', 'web=nginx', 'node=', '=x', 'node=a b'])('rejects %j with the allowed forms', (value) => {
    expect(() => parseBaseImageOptions([value])).toThrow(UsageError);
    expect(() => parseBaseImageOptions([value])).toThrow(/--base-image/);
  });

  it('names the allowed roles', () => {
    expect(() => parseBaseImageOptions(['web=nginx'])).toThrow(/ROLE one of node, shaper/);
  });
});

describe('imageTag', () => {
  it('is repo:hash', () => {
    expect(imageTag('node', 'abc123def456')).toBe('acklab/node:abc123def456');
    expect(imageTag('shaper', '0123456789ab')).toBe('acklab/shaper:0123456789ab');
  });
});
