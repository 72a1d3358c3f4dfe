import { describe, expect, it } from 'vitest';
import { checkNodeNames, parseExperiment } from '../../../src/experiment/experiment-file.js';
import { describeAction } from '../../../src/conditions/index.js';
import { FileValidationError } from '../../../src/experiment/yaml-source.js';
import { createRng, deriveSeed } from '../../../src/common/index.js';

const FILE = '/lab/experiments/x.yaml';

function errorsOf(text: string): string[] {
  try {
    parseExperiment(text, FILE);
  } catch (err) {
    if (err instanceof FileValidationError) return err.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`);
    throw err;
  }
  throw new Error('expected a validation error');
}

const BASE = `name: demo
topology: ../topologies/client-server.yaml
duration: 20s
`;

describe('experiment file', () => {
  it('resolves a full file: topology path, workload, conditions, timelines sorted', () => {
    const { experiment } = parseExperiment(
      `${BASE}seed: 7
repetitions: 3
workload:
  - { node: client, program: peer, args: [client, "server:8888", --interval, 1s], start: 1s }
conditions:
  - name: baseline
  - name: slow
    links: [{ from: client, to: server, both: true, delay: 50ms }]
  - name: cut
    partitions: ["client | server"]
    timeline:
      - at: 15s heal
      - at: 5s partition client | server
timeline:
  - at: 10s delay client->server 200ms ±50ms
`,
      FILE,
    );
    expect(experiment.topology).toEqual({ kind: 'file', file: '/lab/topologies/client-server.yaml' });
    expect(experiment).toMatchObject({ name: 'demo', seed: 7, repetitions: 3, durationMs: 20_000 });
    expect(experiment.workload).toEqual([{ node: 'client', program: 'peer', args: ['client', 'server:8888', '--interval', '1s'], startMs: 1000 }]);
    expect(experiment.conditions.map((c) => c.name)).toEqual(['baseline', 'slow', 'cut']);
    expect(experiment.conditions[1]!.actions.map(describeAction)).toEqual(['impair client->server delay=50ms', 'impair server->client delay=50ms']);
    expect(experiment.conditions[2]!.actions.map(describeAction)).toEqual(['partition client | server']);
    expect(experiment.conditions[2]!.timeline.map((s) => [s.atMs, describeAction(s.action)])).toEqual([
      [5000, 'partition client | server'],
      [10000, 'impair client->server delay=200ms jitter=50ms'],
      [15000, 'heal'],
    ]);
    expect(experiment.conditions[0]!.timeline).toHaveLength(1);
  });

  it('accepts the { at, do } and quoted forms of a step', () => {
    const { experiment } = parseExperiment(`${BASE}timeline:\n  - { at: 3s, do: heal }\n  - "at: 4s heal client"\n`, FILE);
    expect(experiment.conditions[0]!.timeline.map((s) => s.atMs)).toEqual([3000, 4000]);
  });

  it('expands a matrix into one condition per combination, zero meaning baseline', () => {
    const { experiment } = parseExperiment(`${BASE}matrix:\n  delay: [0ms, 50ms]\n  loss: [0%, 10%]\n`, FILE);
    expect(experiment.conditions.map((c) => c.name)).toEqual(['baseline', 'loss=10%', 'delay=50ms', 'delay=50ms+loss=10%']);
    expect(experiment.conditions[3]!.actions.map(describeAction)).toEqual(['impair * delay=50ms loss=10%']);
  });

  it('keeps inline topologies as given', () => {
    const { experiment } = parseExperiment(`name: x\nduration: 5s\ntopology:\n  name: t\n  nodes: { a: { kind: echo } }\n`, FILE);
    expect(experiment.topology).toEqual({ kind: 'inline', value: { name: 't', nodes: { a: { kind: 'echo' } } } });
  });

  it.each([
    [`${BASE}colour: red\n`, '4:1 colour: unknown field "colour"; allowed: name, description, seed'],
    [`name: demo\nduration: 20s\n`, '1:1 topology: missing required field'],
    [`${BASE.replace('20s', 'soon')}`, '3:11 duration: "soon" is not a duration'],
    [`${BASE}repetitions: 0\n`, '4:14 repetitions: Too small'],
    [`${BASE}conditions:\n  - name: a\n    links: [{ from: x, delay: fast }]\n`, '6:31 conditions[0].links[0].delay: "fast" is not a duration'],
    [`${BASE}conditions:\n  - name: a\n    links: [{ from: x, delay: 10ms, jitter: 20ms }]\n`, '6:45 conditions[0].links[0].jitter: jitter must be ≤ delay'],
    [`${BASE}conditions:\n  - name: a\n  - name: a\n`, '6:11 conditions[1].name: condition name "a" is used twice'],
    [`${BASE}timeline:\n  - at: 30s heal\n`, '5:5 timeline[0]: step at 30s is after the end of the run (duration 20s)'],
    [`${BASE}timeline:\n  - at: 3s explode\n`, '5:5 timeline[0]: unknown action "explode"'],
    [`${BASE}workload:\n  - { node: client, program: ruby }\n`, '5:30 workload[0].program: Invalid option: expected one of "echo"|"peer"|"mcast"'],
    [`${BASE}matrix: { colour: [1] }\n`, '4:11 matrix.colour: unknown field "colour"; allowed: link, delay, jitter, loss, rate'],
    [`name: demo\n  bad: indent\n`, '1:7 : YAML syntax: Nested mappings are not allowed'],
    // ranges: a run lasts more than 0 and at most a day; nothing is negative
    [`${BASE.replace('20s', '99999999h')}`, '3:11 duration: duration 99999999h is too long: at most 24h'],
    [`${BASE.replace('20s', '0s')}`, '3:11 duration: duration must be greater than 0 (got 0ms)'],
    [`${BASE.replace('20s', '-5s')}`, '3:11 duration: "-5s" is not a duration'],
    [`${BASE}workload:\n  - { node: client, start: 99999999h }\n`, '5:28 workload[0].start: start 99999999h is not before the end of the run (duration 20s)'],
    [`${BASE}timeline:\n  - at: -1s heal\n`, '5:5 timeline[0]: "-1s" is not a duration'],
    [`${BASE}repetitions: 100\nmatrix: { delay: [0ms, 1ms, 2ms, 3ms, 4ms, 5ms, 6ms, 7ms, 8ms, 9ms, 10ms] }\n`, '5:9 matrix: 11 conditions × 100 repetitions make 1100 runs; an experiment has at most 1000'],
    [`${BASE}x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nz: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nw: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nv: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`, '8:33 v[7]: YAML aliases expand the document'],
  ])('reports %j with its position', (text, expected) => {
    const errors = errorsOf(text);
    expect(errors.some((e) => e.startsWith(expected)), `${errors.join('\n')}`).toBe(true);
  });

  it('an alias bomb is refused at the alias where it passes the limit, before anything walks it', () => {
    const bomb = `${BASE}x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\ny: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nz: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nw: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\nv: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n`;
    expect(errorsOf(bomb)).toEqual(['8:33 v[7]: YAML aliases expand the document to more than 100000 values at *d; use fewer or smaller aliases']);
  });

  it('checks node names against the topology, pointing at the mention', () => {
    const loaded = parseExperiment(`${BASE}timeline:\n  - at: 3s partition client | servr\n`, FILE);
    expect(() => checkNodeNames(loaded, ['client', 'server'])).toThrow(/x\.yaml:5:5: timeline\[0\]: unknown node "servr"; the topology has: client, server/);
    expect(() => checkNodeNames(loaded, ['client', 'servr'])).not.toThrow();
  });
});

describe('seeded randomness', () => {
  it('repeats for the same seed and differs across parts', () => {
    const a = createRng(deriveSeed(42, 'baseline', 1));
    const b = createRng(deriveSeed(42, 'baseline', 1));
    const seqA = Array.from({ length: 5 }, () => a.int(0, 1000));
    expect(Array.from({ length: 5 }, () => b.int(0, 1000))).toEqual(seqA);
    expect(deriveSeed(42, 'baseline', 1)).not.toBe(deriveSeed(42, 'baseline', 2));
    const f = createRng(1).float();
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f).toBeLessThan(1);
  });
});
