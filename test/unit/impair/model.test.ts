import { describe, expect, it } from 'vitest';
import { parseImpairment } from '../../../src/conditions/index.js';
import { backendViolations, validateEgress } from '../../../src/impair/index.js';

describe('backends', () => {
  it('refuses delay correlation on the userspace backend only', () => {
    const c = parseImpairment({ delay: '10ms', jitter: '2ms', delayCorrelation: '25%' });
    expect(backendViolations(c, 'netem')).toEqual([]);
    expect(backendViolations(c, 'userspace').join()).toMatch(/netem backend only/);
    expect(() => validateEgress({ node: 'a', to: 'b', impairment: c }, ['a', 'b'], 'userspace')).toThrow(/netem backend only/);
    expect(() => validateEgress({ node: 'a', to: 'x', impairment: c }, ['a', 'b'], 'netem')).toThrow(/unknown peer "x"/);
  });
});
