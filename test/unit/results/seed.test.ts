/**
 * The seed's programs in the lab are counted from their stdout (the seed's own lines), and each peer
 * pair's counts are compared side by side with one computed reason per difference.
 */
import { describe, expect, it } from 'vitest';
import {
  clientAcksVerdict,
  nodeProgram,
  pairMetrics,
  parseSeedClient,
  parseSeedServer,
  peerPairs,
  runMetrics,
  runVerdict,
  seedClientMetrics,
  type RunManifest,
  type PairNode,
  type TimedEvent,
} from '../../../src/results/index.js';

// The seed's stdout, as docker/twisted/peer.py prints it (shapes taken from a run under 10 % loss).
const SERVER = `@__init__
@startFactory
Starting server @0.0.0.0 port 8888
@buildProtocol
Connected from ('10.210.2.6', 49048)
Server received <update>
sendAck
Server received <update><update><update>
sendAck
Server received <update>
sendAck
Disconnected
@stopFactory
`;
const CLIENT = `@__init__
Connecting to host tt-server port 8888
@startFactory
@buildProtocol
Client received <connection up>
Sending update
Client received <Ack>
Sending update
Sending update
Sending update
Client received <Ack>
Sending update
Client received <Ack>
Disconnected
Received 4 acks
Lost connection. Reason: [Failure instance: Traceback (failure with no frames): <class 'twisted.internet.error.ConnectionLost'>: Connection to the other side was lost in a non-clean fashion: Connection lost.
]
@stopFactory
`;
const SERVER_CMD = ['python3', '-u', '/opt/seed/peer.py', 'server', '0.0.0.0:8888'];
const CLIENT_CMD = ['sh', '-c', 'until …', '0', 'python3', '-u', '/opt/seed/peer.py', 'client', 'srv:8888'];

const seedServer = (stdout = SERVER): PairNode => ({ name: 'srv', program: 'twisted-server', command: SERVER_CMD, exitCode: 0, events: [], stdout });
const seedClient = (stdout = CLIENT): PairNode => ({ name: 'cli', program: 'twisted-client', command: CLIENT_CMD, exitCode: 0, events: [], stdout });

/** acklab's server: one update_received and one ack_sent per <update>, from `peer`. */
function acklabServer(updates: number, peer = '10.0.0.5:40000'): PairNode {
  const events = Array.from({ length: updates }, (_, i) => [
    { event: 'update_received', peer, conn: 1, seq: i + 1 },
    { event: 'ack_sent', peer, conn: 1, seq: i + 1 },
  ]).flat();
  return { name: 'srv', program: 'peer-server', command: ['acklab-peer', 'server', '0.0.0.0:8888'], exitCode: 0, events };
}
function acklabClient(sent: number, acks: number): PairNode {
  const events = [
    ...Array.from({ length: sent }, (_, i) => ({ event: 'update_sent', conn: 1, seq: i + 1 })),
    ...Array.from({ length: acks }, (_, i) => ({ event: 'ack_received', conn: 1, seq: i + 1, rttMs: 1 })),
    { event: 'summary', summary: { updatesSent: sent, acksReceived: acks } },
  ];
  return { name: 'cli', program: 'peer-client', command: ['acklab-peer', 'client', 'srv:8888'], exitCode: 0, events, addresses: { net: '10.0.0.5' } };
}

describe("the seed's stdout", () => {
  it('server: one read per "Server received" line, <update>s counted in the data, one <Ack> per read', () => {
    expect(parseSeedServer(SERVER)).toEqual({ connections: 1, reads: 3, updates: 5, acksSent: 3, coalescedReads: 1 });
  });

  it('client: updates sent, reads (its "acks", the greeting included), <Ack> tokens, its own final count', () => {
    expect(parseSeedClient(CLIENT)).toEqual({ updatesSent: 5, reads: 4, acks: 3, greetings: 1, coalescedReads: 0, reported: 4, connectFailed: null });
    expect(parseSeedClient('Client received <connection up><Ack>\nClient received <Ack><Ac\nClient received k>\n')).toMatchObject({ reads: 3, acks: 3, greetings: 1, coalescedReads: 1, reported: null });
  });

  it("client: a refused connection, and the seed's count as the client's acks", () => {
    const failed = parseSeedClient("Connecting to host srv port 8888\nFailed to connect to: IPv4Address(type='TCP', host='srv', port=8888)\nReceived 0 acks\n");
    expect(failed).toMatchObject({ reported: 0, connectFailed: "Failed to connect to: IPv4Address(type='TCP', host='srv', port=8888)" });
    expect(seedClientMetrics({ name: 'cli', exitCode: 0, stdout: CLIENT })).toMatchObject({ status: 'completed', updatesSent: 5, acksReceived: 4, ackRatio: 0.8, ackRttMs: { p50: null } });
    expect(seedClientMetrics({ name: 'cli', exitCode: 137, stdout: 'Sending update\n' })).toMatchObject({ status: 'crashed', updatesSent: 1, acksReceived: 0 });
  });

  it('knows the programs by kind (the seed) or argv (acklab)', () => {
    expect(nodeProgram({ kind: 'twisted-peer-client', command: CLIENT_CMD })).toBe('twisted-client');
    expect(nodeProgram({ kind: 'twisted-peer-server', command: SERVER_CMD })).toBe('twisted-server');
    expect(nodeProgram({ kind: 'mcast-impl', command: [] })).toBe('mcast-impl');
    // a workload may run acklab's program on any node: the argv wins
    expect(nodeProgram({ kind: 'twisted-peer-client', command: ['acklab-peer', 'client', 's:1'] })).toBe('peer-client');
  });
});

describe('peer pairs: both sides counted, and why they differ', () => {
  it('the seed with the seed: one <Ack> per read at the server, every read counted at the client', () => {
    const p = pairMetrics(seedClient(), seedServer());
    expect(p).toMatchObject({
      client: 'cli',
      server: 'srv',
      clientProgram: 'twisted',
      serverProgram: 'twisted',
      updatesSent: 5,
      updatesReceived: 5,
      serverReads: 3,
      acksSent: 3,
      acksReceived: 3,
      acksCounted: 4,
      clientReads: 4,
      greetingCounted: true,
      shortfall: { total: 1, quirks: 1, transport: 0 },
    });
    expect(p.explanations).toEqual([
      'the Twisted server sent 3 <Ack>s for 5 <update>s: one per read, and TCP put 2+ <update>s in 1 read (2 fewer acks)',
      'the Twisted client counts the <connection up> greeting as an ack (+1)',
    ]);
  });

  it("acklab's pair: counts match; acklab's server counts only this client's events (by its address)", () => {
    const server = acklabServer(4);
    server.events = [...server.events, { event: 'update_received', peer: '10.0.0.9:5555', conn: 2, seq: 1 }];
    const p = pairMetrics(acklabClient(4, 4), server);
    expect(p).toMatchObject({ updatesSent: 4, updatesReceived: 4, serverReads: null, acksSent: 4, acksReceived: 4, acksCounted: 4, shortfall: { total: 0, quirks: 0, transport: 0 } });
    expect(p.explanations).toEqual(['counts match: every <update> got its own <Ack>, counted once']);
  });

  it('the seed client with acklab\'s server: acks coalesced in one read count once; an ack in flight at the stop', () => {
    const stdout = 'Client received <connection up>\nSending update\nSending update\nClient received <Ack><Ack>\nSending update\nDisconnected\nReceived 2 acks\n';
    const p = pairMetrics({ ...seedClient(stdout), addresses: { net: '10.0.0.5' } }, acklabServer(3));
    expect(p).toMatchObject({ updatesSent: 3, acksSent: 3, acksReceived: 2, acksCounted: 2, shortfall: { total: 1, quirks: 0, transport: 1 } });
    expect(p.explanations).toEqual([
      '1 <Ack> the server sent never reached the client: in flight, or cut off, when it stopped',
      'the Twisted client counts the <connection up> greeting as an ack (+1)',
      'the Twisted client counts reads, not <Ack>s: 1 read held 2+ tokens (−1)',
    ]);
  });

  it("acklab's client with the seed's server: fewer acks than updates, the server's quirk", () => {
    const p = pairMetrics(acklabClient(5, 3), seedServer());
    expect(p.shortfall).toEqual({ total: 2, quirks: 2, transport: 0 });
    expect(p.explanations).toEqual(['the Twisted server sent 3 <Ack>s for 5 <update>s: one per read, and TCP put 2+ <update>s in 1 read (2 fewer acks)']);
  });

  it('pairs every client with the server its argv names', () => {
    const nodes = [seedServer(), seedClient(), { ...acklabClient(1, 1), name: 'other', command: ['acklab-peer', 'client', 'nowhere:1'] }];
    expect(peerPairs(nodes).map((p) => `${p.client}→${p.server}`)).toEqual(['cli→srv']);
  });
});

describe('the acks verdict of a client', () => {
  const client = (updates: number, acks: number, status: 'completed' | 'crashed' = 'completed') => ({
    node: 'cli', status, exitCode: 0, reason: null, updatesSent: updates, acksReceived: acks, ackRatio: null,
    ackRttMs: { p50: null, p95: null, p99: null, max: null }, connectionsMade: 1, connectionsLost: 0,
  });

  it("the seed's counting quirks are accounted for; what the transport lost is not, unless a fault or the seed client's stop explains it", () => {
    const quirky = pairMetrics(acklabClient(5, 3), seedServer());
    expect(clientAcksVerdict(client(5, 3), quirky, [])).toEqual({ verdict: 'pass', missing: 2, accountedBy: ["the seed's counting (acklab → twisted: 2 fewer)"] });

    const lostByAcklab = pairMetrics(acklabClient(5, 3), acklabServer(5));
    lostByAcklab.shortfall = { total: 2, quirks: 0, transport: 2 };
    expect(clientAcksVerdict(client(5, 3), lostByAcklab, [])).toMatchObject({ verdict: 'fail', missing: 2 });
    expect(clientAcksVerdict(client(5, 3), lostByAcklab, ['"partition cli | srv"'])).toMatchObject({ verdict: 'pass', accountedBy: ['"partition cli | srv"'] });

    const seedStopped = pairMetrics({ ...seedClient('Sending update\nSending update\nClient received <Ack>\nReceived 1 acks\n'), addresses: { net: '10.0.0.5' } }, acklabServer(2));
    expect(clientAcksVerdict(client(2, 1), seedStopped, [])).toEqual({ verdict: 'pass', missing: 1, accountedBy: ["1 in flight when the seed's client was stopped (it closes at once)"] });
  });
});

describe('run metrics with the seed', () => {
  it('counts the seed client as a peer client (its own count) and pairs it with its server', () => {
    const m = runMetrics({
      condition: 'c',
      repetition: 1,
      status: 'ok',
      nodes: [
        { name: 'srv', kind: 'twisted-peer-server', command: SERVER_CMD, exitCode: 0, events: [] as TimedEvent[], stdout: SERVER },
        { name: 'cli', kind: 'twisted-peer-client', command: CLIENT_CMD, exitCode: 0, events: [] as TimedEvent[], stdout: CLIENT },
      ],
    });
    expect(m.crashed).toBe(false);
    expect(m.peer).toMatchObject({ updatesSent: 5, acksReceived: 4 });
    expect(m.pairs).toHaveLength(1);
    expect(m.pairs![0]).toMatchObject({ clientProgram: 'twisted', serverProgram: 'twisted', acksCounted: 4 });
    // the verdict: the shortfall is the seed's own counting, not a lost ack
    const manifest = { status: 'ok', condition: { name: 'c', actions: [], timeline: [] }, timeline: [], nodes: [
      { name: 'srv', kind: 'twisted-peer-server', command: SERVER_CMD },
      { name: 'cli', kind: 'twisted-peer-client', command: CLIENT_CMD },
    ] } as unknown as RunManifest;
    expect(runVerdict(manifest, m).checks.find((c) => c.name === 'acks')).toEqual({
      name: 'acks',
      verdict: 'pass',
      reason: "1 of 5 updates not acked, accounted for by the seed's counting (twisted → twisted: 1 fewer)",
    });
  });
});
