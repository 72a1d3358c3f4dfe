/**
 * The built acklab/node image runs the three programs across a Docker network: echo round trip,
 * peer server/client with the exact ack count, three mcast peers delivering the same sequence,
 * non-root processes, and a usage error surfacing as exit code + log.
 */
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cleanupSession, containerLogs, createNetwork, events, newSession, runToCompletion, type TestSession } from './containers.js';

const images = inject('images');
let session: TestSession;
let network: string;

beforeAll(async () => {
  session = newSession('programs');
  network = await createNetwork(session);
});

afterAll(async () => {
  if (session) await cleanupSession(session);
});

function server(alias: string, cmd: string[], ready: RegExp): Promise<StartedTestContainer> {
  return new GenericContainer(images.node)
    .withLabels(session.labels)
    .withNetworkMode(network)
    .withNetworkAliases(alias)
    .withCommand(cmd)
    .withWaitStrategy(Wait.forLogMessage(ready))
    .withStartupTimeout(30_000)
    .start();
}

describe('acklab/node image', () => {
  it('echo: a client container gets its bytes back from the echo container across the network', async () => {
    const echo = await server('echo', ['acklab-echo', '--port', '8881', '--events', '-'], /"event":"listening"/);
    const client = await runToCompletion(
      session,
      images.node,
      [
        'node',
        '-e',
        "const s=require('net').connect(8881,'echo',()=>s.write('hello acklab\\n'));" +
          "let got='';s.on('data',d=>{got+=d;if(got.endsWith('\\n')){console.log('GOT '+got.trim());s.end();}});" +
          "s.on('error',e=>{console.error(e.message);process.exit(1)})",
      ],
      { network },
    );
    expect(client, client.stderr).toMatchObject({ exitCode: 0 });
    expect(client.stdout).toContain('GOT hello acklab');

    const echoEvents = events((await containerLogs(session, echo.getId())).stdout);
    const connected = echoEvents.find((e) => e.event === 'connected');
    // The peer is the client container's address on the lab network, not loopback.
    expect(String(connected?.peer)).toMatch(/^(::ffff:)?\d+\.\d+\.\d+\.\d+:\d+$/);
    expect(String(connected?.peer)).not.toMatch(/127\.0\.0\.1/);
    await echo.stop();
  });

  it('peer: the client container receives exactly one ack per update from the server container', async () => {
    const peerServer = await server('peer-server', ['acklab-peer', 'server', '0.0.0.0:8888', '--events', '-'], /"event":"listening"/);
    const client = await runToCompletion(
      session,
      images.node,
      ['acklab-peer', 'client', 'peer-server:8888', '--interval', '100ms', '--count', '7', '--events', '-'],
      { network },
    );
    expect(client.exitCode, client.stderr).toBe(0);
    const summary = events(client.stdout).find((e) => e.event === 'summary')?.summary as Record<string, unknown>;
    expect(summary).toMatchObject({ completed: true, updatesSent: 7, acksReceived: 7, acksOutstanding: 0, unmatchedAcks: 0 });
    expect(client.stderr).toContain('Received 7 acks');

    const serverEvents = events((await containerLogs(session, peerServer.getId())).stdout);
    expect(serverEvents.filter((e) => e.event === 'ack_sent')).toHaveLength(7);
    await peerServer.stop();
  });

  it('mcast: three containers deliver the same complete sequence', async () => {
    const members = [1, 2, 3];
    const peers = (id: number) => members.filter((m) => m !== id).map((m) => `${m}@mcast-${m}:9000`).join(',');
    const runs = await Promise.all(
      members.map((id) =>
        runToCompletion(
          session,
          images.node,
          ['acklab-mcast', '--id', String(id), '--listen', '9000', '--peers', peers(id), '--count', '5', '--interval', '50ms', '--events', '-', '--out', '/tmp/delivered.jsonl'],
          { network, alias: `mcast-${id}`, timeoutMs: 60_000 },
        ),
      ),
    );
    const sequences = runs.map((run, i) => {
      expect(run.exitCode, `peer ${members[i]}: ${run.stderr}`).toBe(0);
      return events(run.stdout)
        .filter((e) => e.event === 'delivered')
        .map((e) => `${e.lamport}.${e.sender}#${e.seq}`);
    });
    expect(sequences[0]).toHaveLength(15);
    expect(new Set(sequences[0]?.map((s) => s.split('#')[0])).size).toBe(15);
    expect(sequences[1]).toEqual(sequences[0]);
    expect(sequences[2]).toEqual(sequences[0]);
  });

  it('programs run as a non-root user', async () => {
    const echo = await server('echo-uid', ['acklab-echo', '--port', '8881', '--events', '-'], /"event":"listening"/);
    // PID 1 is acklab-echo itself (no entrypoint wrapper): its real and effective uid.
    const status = await echo.exec(['sh', '-c', 'grep ^Uid: /proc/1/status; id -un']);
    const uids = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status.output);
    expect(uids?.[1]).not.toBe('0');
    expect(uids?.[2]).not.toBe('0');
    expect(status.output).toContain('acklab');
    await echo.stop();
  });

  it.each([
    [['acklab-peer', 'client', '127.0.0.1:notaport'], /port/i],
    [['acklab-echo', '--port', '99999'], /port/i],
    [['acklab-mcast', '--id', '1', '--listen', '9000', '--peers', 'bogus', '--count', '5'], /peers|id@host:port/i],
  ])('a usage error (%j) shows as exit code 2 and a message in the logs', async (cmd, message) => {
    const run = await runToCompletion(session, images.node, cmd);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/usage: acklab-/);
  });
});
