import { describe, expect, it } from 'vitest';
import { pullDisabled } from '../../../src/images/index.js';

describe('pullDisabled', () => {
  it.each([
    [{ ACKLAB_NO_PULL: '1' }, true],
    [{ ACKLAB_NO_PULL: 'true' }, true],
    [{ ACKLAB_NO_PULL: '0' }, false],
    [{}, false],
  ])('%j → %s', (env, expected) => {
    expect(pullDisabled(env)).toBe(expected);
  });
});
