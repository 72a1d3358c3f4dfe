import { describe, expect, it } from 'vitest';
import { ALL_PEERS, checkEgress, describeAction, egressConditions, parseAction, parseImpairment } from '../../../src/conditions/index.js';

describe('parseAction', () => {
  it.each([
    ['partition n1 | n2,n3', 'partition n1 | n2,n3'],
    ['partition n1 -/-> n2', 'partition n1 -/-> n2'],
    ['partition n1 | n2 reset', 'partition n1 | n2 reset'],
    ['heal', 'heal'],
    ['heal *', 'heal'],
    ['heal n2', 'heal n2'],
    ['delay n1->n2 200ms', 'impair n1->n2 delay=200ms'],
    ['delay n1 200ms ±50ms', 'impair n1 delay=200ms jitter=50ms'],
    ['delay n1 200ms +-50ms', 'impair n1 delay=200ms jitter=50ms'],
    ['loss * 10%', 'impair * loss=10%'],
    ['rate n1->n2 1mbit', 'impair n1->n2 rate=1mbit'],
    ['corrupt n1 0.5%', 'impair n1 corrupt=0.5%'],
    ['impair n1 loss=5% loss-correlation=25%', 'impair n1 loss=5% loss-correlation=25%'],
    ['impair n1->n2 delay=20ms loss=5%', 'impair n1->n2 delay=20ms loss=5%'],
    ['impair n1->* delay=20ms', 'impair n1 delay=20ms'],
  ])('%s', (text, described) => {
    expect(parseAction(text).map(describeAction)).toEqual([described]);
  });

  it('expands n1<->n2 into both directions', () => {
    expect(parseAction('delay a<->b 50ms').map(describeAction)).toEqual(['impair a->b delay=50ms', 'impair b->a delay=50ms']);
  });

  it.each([
    ['explode n1', /unknown action "explode"; allowed: impair, partition, heal, delay/],
    ['partition n1', /at least two groups/],
    ['partition n1 | n1,n2', /named twice/],
    ['partition n1 -/-> n1', /two different nodes/],
    ['delay n1->n2 fast', /not a duration/],
    ['loss n1 120%', /outside 0–100/],
    ['delay n1 10ms ±50ms', /jitter must be ≤ delay/],
    ['loss n1 10% ±5%', /"±" \(jitter\) only follows a delay/],
    ['impair n1 speed=3', /key one of delay, jitter/],
    ['delay N1 10ms', /not a node name/],
    ['delay a<->a 10ms', /two different nodes/],
    ['delay n1', /write it like "delay n1->n2 200ms"/],
  ])('rejects %s', (text, message) => {
    expect(() => parseAction(text)).toThrow(message);
  });
});

describe('egress conditions', () => {
  const imp = parseImpairment({ delay: '10ms' });

  it('"*" as the sender is every node; a node is never impaired towards itself', () => {
    const [action] = parseAction('delay *->n2 10ms');
    expect(egressConditions(action as never, ['n1', 'n2', 'n3']).map((c) => `${c.node}->${c.to}`)).toEqual(['n1->n2', 'n3->n2']);
    const [all] = parseAction('delay n1 10ms');
    expect(egressConditions(all as never, ['n1', 'n2']).map((c) => c.to)).toEqual([ALL_PEERS]);
  });

  it.each([
    [{ node: 'n9', to: 'n2' }, /unknown node "n9"; the lab's nodes are: n1, n2, n3/],
    [{ node: 'n1', to: 'n7' }, /unknown peer "n7"/],
    [{ node: 'n1', to: 'n1' }, /cannot be impaired towards itself/],
  ])('checks %j against the lab', (c, message) => {
    expect(() => checkEgress({ ...c, impairment: imp }, ['n1', 'n2', 'n3'])).toThrow(message);
  });
});
