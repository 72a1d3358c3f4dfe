import { describe, expect, it } from 'vitest';
import {
  ConditionError,
  describeImpairment,
  parseImpairment,
  parseImpairmentPairs,
  type ImpairmentInput,
} from '../../../src/conditions/index.js';
import { problemsOf } from '../../support/problems.js';


describe('parseImpairment', () => {
  it('parses every field into canonical units', () => {
    expect(
      parseImpairment({
        delay: '100ms', jitter: '10ms', distribution: 'pareto', loss: '5%', lossCorrelation: '25%',
        duplicate: '1%', reorder: '10%', corrupt: '0.1%', rate: '1mbit',
      }),
    ).toEqual({
      delayMs: 100, jitterMs: 10, delayCorrelationPct: 0, distribution: 'pareto', lossPct: 5,
      lossCorrelationPct: 25, duplicatePct: 1, reorderPct: 10, corruptPct: 0.1, rateBps: 1e6,
    });
  });

  it.each([
    [{ delay: '-5ms' }, /delay: .*negative/],
    [{ delay: 'fast' }, /delay: "fast" is not a duration/],
    [{ delay: 50 }, /delay: duration 50 has no unit/],
    [{ delay: '10ms', jitter: '20ms' }, /jitter: jitter must be ≤ delay/],
    [{ delay: '2m' }, /delay: must be ≤ 1m/],
    [{ loss: '120%' }, /loss: .*outside 0–100 %/],
    [{ loss: '-1%' }, /loss: .*outside 0–100 %/],
    [{ loss: 'lots' }, /loss: "lots" is not a percentage/],
    [{ rate: '1 furlong' }, /rate: .*is not a rate/],
    [{ rate: '0mbit' }, /rate: .*greater than zero/],
    [{ rate: '8bit' }, /rate: must be 1kbit–100gbit/],
    [{ delay: '10ms', jitter: '1ms', distribution: 'gaussian' }, /distribution: "gaussian" is not one of uniform, normal, pareto, paretonormal/],
    [{ delay: '10ms', distribution: 'normal' }, /distribution needs a jitter/],
    [{ lossCorrelation: '20%', delay: '1ms' }, /loss-correlation: loss-correlation needs a loss/],
    [{ reorder: '10%' }, /reorder needs a delay/],
    [{}, /nothing to impair/],
  ])('refuses %j', (input, message) => {
    const problems = problemsOf(() => parseImpairment(input as ImpairmentInput, '--to n2'));
    expect(problems.join('\n')).toMatch(message);
    expect(problems.every((p) => p.startsWith('--to n2: '))).toBe(true);
  });

  it('reports every problem at once, each with its field (and not the knock-on "nothing to impair")', () => {
    const err = (() => {
      try {
        parseImpairment({ delay: 'x', loss: '200%' });
      } catch (e) {
        return e as ConditionError;
      }
      throw new Error('expected an error');
    })();
    expect(err.issues.map((i) => i.field)).toEqual(['delay', 'loss']);
  });
});

describe('the text form', () => {
  it.each([
    ['delay=50ms'],
    ['delay=200ms jitter=50ms'],
    ['delay=10ms jitter=2ms distribution=pareto delay-correlation=25%'],
    ['loss=5% loss-correlation=25%'],
    ['delay=1ms duplicate=1% reorder=10% corrupt=0.5%'],
    ['rate=1mbit'],
    ['delay=250us loss=0.1% rate=500kbit'],
  ])('%s reads back to the same text', (text) => {
    expect(describeImpairment(parseImpairment(parseImpairmentPairs(text.split(' '))))).toBe(text);
  });

  it('leaves the default distribution out and reads it back as normal', () => {
    const imp = parseImpairment({ delay: '10ms', jitter: '2ms', distribution: 'normal' });
    expect(describeImpairment(imp)).toBe('delay=10ms jitter=2ms');
    expect(parseImpairment(parseImpairmentPairs(['delay=10ms', 'jitter=2ms'])).distribution).toBe('normal');
  });

  it('accepts camelCase and kebab-case keys, refuses others naming the allowed ones', () => {
    expect(parseImpairmentPairs(['lossCorrelation=5%', 'delay-correlation=1%'])).toEqual({ lossCorrelation: '5%', delayCorrelation: '1%' });
    expect(() => parseImpairmentPairs(['speed=3'])).toThrow(/"speed=3" is not key=value with key one of delay, jitter, distribution/);
  });
});
