import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../../src/experiment/experiment-file.js';
import { CONTAINER_OUT, experimentTopology, gateCommand, keepEarlierCommand, runLabName, runTopology } from '../../../src/experiment/topology.js';
import { planRuns } from '../../../src/experiment/runner.js';

const FILE = '/lab/experiments/t.yaml';
const TEXT = `name: t
duration: 10s
repetitions: 2
topology:
  name: t
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server, interval: 1s } }
    p1: { kind: mcast, args: { out: /tmp/mine.jsonl } }
    p2: { kind: mcast }
workload:
  - { node: client, args: [--count, "5"], start: 2s }
  - { node: p2, program: mcast, args: [--id, "2", --listen, "9000", --peers, "1@p1:9000", --count, "3"] }
conditions:
  - name: a
  - name: b
`;

describe('run topology', () => {
  it('validates an inline topology with positions in the experiment file', async () => {
    const bad = TEXT.replace('kind: peer-server', 'kind: peer-servr');
    const loaded = parseExperiment(bad, FILE);
    await expect(experimentTopology(loaded.experiment, loaded.source)).rejects.toThrow(/t\.yaml:7:\d+: nodes\.server\.kind: .*peer-servr/);
  });

  it('gives each run its own lab, adds outputs, applies the workload and gates the programs', async () => {
    const loaded = parseExperiment(TEXT, FILE);
    const base = await experimentTopology(loaded.experiment, loaded.source);
    const { topology, outputs, gated } = runTopology(base, loaded.experiment, runLabName('t', 'abc123', 0));
    expect(topology.name).toBe('t-abc123-1');
    expect(gated.sort()).toEqual(['client', 'p1', 'p2']);
    const node = (n: string) => topology.nodes.find((x) => x.name === n)!;

    // the server is not gated (clients need it ready) and writes its log where the collector looks
    // (wrapped only so that a start again by the timeline keeps the first start's outputs)
    expect(node('server').command).toEqual(keepEarlierCommand(['acklab-peer', 'server', '0.0.0.0:8888', '--events', CONTAINER_OUT.events, '--log', CONTAINER_OUT.serverLog]));
    expect(node('server').command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(node('server').command[2]).toContain(`mv "$f" ${CONTAINER_OUT.earlier}/$n/`);
    expect(node('server').ready.type).toBe('port');
    expect(outputs.get('server')).toEqual({ events: CONTAINER_OUT.events, files: { 'server.log': CONTAINER_OUT.serverLog } });

    // extra args appended, then wrapped in the gate with its 2 s start offset; ready once running
    expect(node('client').command).toEqual(
      gateCommand(['acklab-peer', 'client', 'server:8888', '--interval', '1s', '--count', '5', '--events', CONTAINER_OUT.events], 2000),
    );
    expect(node('client').command[2]).toMatch(new RegExp(`^until \\[ -e ${CONTAINER_OUT.go} \\]; do sleep 0.05; done; .* if \\[ \\$first = yes \\]; then sleep "\\$0"; fi; exec "\\$@"$`));
    expect(node('client').command[3]).toBe('2');
    expect(node('client').ready.type).toBe('started');

    // a delivered file the user chose is kept and collected from there
    expect(outputs.get('p1')!.files).toEqual({ 'delivered.jsonl': '/tmp/mine.jsonl' });
    // program + args replace the command
    expect(node('p2').command.slice(4)).toEqual(['acklab-mcast', '--id', '2', '--listen', '9000', '--peers', '1@p1:9000', '--count', '3', '--events', CONTAINER_OUT.events, '--out', CONTAINER_OUT.delivered]);
  });

  it('plans repetition-major runs with their folders', () => {
    const { experiment } = parseExperiment(TEXT, FILE);
    expect(planRuns(experiment).map((r) => [r.dir, r.index])).toEqual([['a-r1', 0], ['b-r1', 1], ['a-r2', 2], ['b-r2', 3]]);
  });
});
