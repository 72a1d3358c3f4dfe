import { describe, expect, it } from 'vitest';
import { parseExperiment } from '../../../src/experiment/experiment-file.js';
import { CONTAINER_OUT, experimentTopology, gateCommand, keepEarlierCommand, nodesNeedingImageArgv, runLabName, runTopology } from '../../../src/experiment/topology.js';
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

  it('nodes on their own images: gated with the argv their image runs (ENTRYPOINT reset); mcast-impl outputs from ACKLAB_*', async () => {
    const text = `name: g
duration: 10s
topology:
  name: g
  nodes:
    m1: { kind: mcast-impl, image: my/impl:dev }
    m2: { kind: mcast-impl, image: my/impl:dev, args: { gate: false } }
    m3: { kind: mcast-impl, image: my/entry:dev, args: { command: [--fast] } }
    ts: { kind: twisted-peer-server }
    tc: { kind: twisted-peer-client, args: { server: ts } }
workload:
  - { node: m1, start: 1s }
`;
    const loaded = parseExperiment(text, FILE);
    const base = await experimentTopology(loaded.experiment, loaded.source);
    // which nodes need their image's argv: gated ones on images of their own (m2 is not gated; ts is a server)
    expect(nodesNeedingImageArgv(base, loaded.experiment).map((n) => n.name)).toEqual(['m1', 'm3', 'tc']);
    const argv = new Map([
      ['m1', { cmd: ['python3', '-u', '/opt/mcast/mcast.py'] }],
      ['m3', { entrypoint: ['/bin/impl'], cmd: ['--default'] }],
      ['tc', {}],
    ]);
    const { topology, outputs, gated } = runTopology(base, loaded.experiment, 'g-1', argv);
    const node = (n: string) => topology.nodes.find((x) => x.name === n)!;
    expect(gated).toEqual(['m1', 'm3', 'tc']);
    expect(node('m1')).toMatchObject({ command: gateCommand(['python3', '-u', '/opt/mcast/mcast.py'], 1000), entrypoint: [], ready: { type: 'started' } });
    // the image's ENTRYPOINT runs with the node's command (not the image's CMD)
    expect(node('m3').command).toEqual(gateCommand(['/bin/impl', '--fast'], 0));
    expect(node('tc').command).toEqual(gateCommand(['python3', '-u', '/opt/seed/peer.py', 'client', 'ts:8888'], 0));
    // not gated: the image's own CMD, readiness on its port
    expect(node('m2')).toMatchObject({ command: [], ready: { type: 'port', port: 9000 } });
    expect(node('m2').entrypoint).toBeUndefined();
    for (const m of ['m1', 'm2', 'm3']) {
      expect(outputs.get(m)).toEqual({ events: '/tmp/acklab-events.ndjson', files: { 'delivered.jsonl': '/tmp/acklab-delivered.jsonl' } });
    }
    // the seed writes no events: its stdout is what is collected
    expect(outputs.get('tc')).toEqual({ events: null, files: {} });
    expect(() => runTopology(base, loaded.experiment, 'g-1')).toThrow(/m1.*gated on an image of its own/);
  });

  it('a workload program: on a node that runs its own image is refused', async () => {
    const text = `name: g
duration: 10s
topology:
  name: g
  nodes:
    m1: { kind: mcast-impl, image: my/impl:dev }
    m2: { kind: mcast-impl, image: my/impl:dev }
workload:
  - { node: m1, program: mcast }
`;
    const loaded = parseExperiment(text, FILE);
    const base = await experimentTopology(loaded.experiment, loaded.source);
    expect(() => runTopology(base, loaded.experiment, 'g-1', new Map([['m1', { cmd: ['x'] }], ['m2', { cmd: ['x'] }]]))).toThrow(
      'workload for "m1": program: runs acklab\'s programs, but "m1" (mcast-impl) runs an image of its own; give args: instead',
    );
  });

  it('plans repetition-major runs with their folders', () => {
    const { experiment } = parseExperiment(TEXT, FILE);
    expect(planRuns(experiment).map((r) => [r.dir, r.index])).toEqual([['a-r1', 0], ['b-r1', 1], ['a-r2', 2], ['b-r2', 3]]);
  });
});
