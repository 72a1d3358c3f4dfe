/**
 * The CLI verbs on real containers: up/ps/logs/exec/down on mcast3.yaml and client-server.yaml,
 * `up` twice, a readiness timeout, and interrupted `up`s (SIGKILL, then SIGINT).
 */
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, countLab, labImages, removeTestLabs, runtime, topologyCopy, waitFor, testLab } from './helpers.js';
import { listNodes } from '../../../src/lab/index.js';
import { LABELS, labelFilter } from '../../../src/common/index.js';

const LABS = [testLab('itest-mcast3'), testLab('itest-pair'), testLab('itest-kill'), testLab('itest-int'), testLab('itest-slow')];
const acklab = (args: string[], opts: { timeout?: number } = {}) =>
  execa('node', [CLI, ...args], { reject: false, timeout: opts.timeout ?? 120_000, env: { NO_COLOR: '1' } });

beforeAll(async () => {
  await labImages(); // build once, so `up` below measures only the lab
  await removeTestLabs(LABS);
}, 300_000);

afterAll(async () => {
  await removeTestLabs(LABS);
}, 120_000);

describe('acklab up/ps/logs/exec/down on mcast3.yaml', () => {
  const file = topologyCopy({ file: 'mcast3.yaml' }, testLab('itest-mcast3'));

  it('up prints the node table with an address per node', async () => {
    const r = await acklab(['up', '-q', file]);
    expect(r.stderr).not.toMatch(/^Error/m);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`lab "${testLab('itest-mcast3')}" is up`);
    for (const n of ['p1', 'p2', 'p3']) expect(r.stdout).toMatch(new RegExp(`│ ${n} +│ mcast +│ \\w+ +│ (net: 10\\.\\d+\\.\\d+\\.\\d+|-) +│`));
  }, 180_000);

  it('ps lists the three peers', async () => {
    const r = await acklab(['ps', testLab('itest-mcast3')]);
    expect(r.exitCode).toBe(0);
    for (const n of ['p1', 'p2', 'p3']) expect(r.stdout).toMatch(new RegExp(`${testLab('itest-mcast3')} +│ ${n} +│ mcast`));
  });

  it('every peer delivers all 30 messages (logs), and exec reads inside a node', async () => {
    await waitFor('the peers to finish', async () => (await listNodes(runtime, testLab('itest-mcast3'))).every((n) => n.state.startsWith('exited')), 60_000);
    for (const n of ['p1', 'p2', 'p3']) {
      const r = await acklab(['logs', testLab('itest-mcast3'), n]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout + r.stderr).toContain('"complete":true');
      expect(r.stdout + r.stderr).toContain('all 30 messages delivered');
    }
    expect((await listNodes(runtime, testLab('itest-mcast3'))).map((n) => n.state)).toEqual(['exited (0)', 'exited (0)', 'exited (0)']);
  }, 90_000);

  it('down removes every container and network of the lab', async () => {
    const r = await acklab(['down', file]);
    expect(r.exitCode).toBe(0);
    // three nodes, the lab's lease and its detached mark
    expect(r.stdout).toContain(`removed lab "${testLab('itest-mcast3')}": 5 containers, 1 networks`);
    expect(await countLab(testLab('itest-mcast3'))).toEqual({ containers: 0, networks: 0 });
  });
});

describe('acklab on client-server.yaml', () => {
  const file = topologyCopy({ file: 'client-server.yaml' }, testLab('itest-pair'));

  it('up, exec (by DNS name), logs, up again replaces the lab, down', async () => {
    const up = await acklab(['up', '-q', file], { timeout: 90_000 });
    expect(up.timedOut, `acklab up printed its table but did not exit (an open handle?):\n${up.stdout}`).toBe(false);
    expect(up.exitCode).toBe(0);
    const first = await listNodes(runtime, testLab('itest-pair'));
    expect(first.map((n) => n.name)).toEqual(['client', 'server']);

    // Names are DNS names inside the lab.
    const e = await acklab(['exec', testLab('itest-pair'), 'client', '--', 'getent', 'hosts', 'server']);
    expect(e.exitCode).toBe(0);
    expect(e.stdout).toMatch(/^10\.\d+\.\d+\.\d+\s+server/);
    const bad = await acklab(['exec', testLab('itest-pair'), 'server', '--', 'sh', '-c', 'echo oops >&2; exit 3']);
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('oops');

    await waitFor('an ack', async () => (await acklab(['logs', testLab('itest-pair'), 'client'])).stdout.includes('Client received <Ack>'));
    const logs = await acklab(['logs', testLab('itest-pair'), 'server', '--tail', '3']);
    expect(logs.stdout).toMatch(/Server received <update>/);

    expect((await acklab(['up', '-q', file])).exitCode).toBe(0);
    const second = await listNodes(runtime, testLab('itest-pair'));
    expect(second).toHaveLength(2);
    expect(new Set(second.map((n) => n.runId)).size).toBe(1);
    expect(second[0]!.runId).not.toBe(first[0]!.runId);
    // Two nodes plus the shaper sidecar of each (the file's 20 ms link impairs both directions), the
    // lease and the detached mark, all of the second run: nothing of the first is left.
    expect(await countLab(testLab('itest-pair'))).toEqual({ containers: 6, networks: 1 });
    expect(new Set((await runtime.containers.list(labelFilter({ lab: testLab('itest-pair') }))).map((c) => c.labels[LABELS.runId]))).toEqual(
      new Set([second[0]!.runId]),
    );
    const sidecars = await runtime.containers.list(labelFilter({ lab: testLab('itest-pair'), role: 'sidecar' }));
    expect(sidecars.map((c) => c.labels[LABELS.runId])).toEqual([second[0]!.runId, second[0]!.runId]);

    const d = await acklab(['down', testLab('itest-pair')]);
    expect(d.exitCode).toBe(0);
    expect(await countLab(testLab('itest-pair'))).toEqual({ containers: 0, networks: 0 });
    const gone = await acklab(['logs', testLab('itest-pair'), 'client']);
    expect(gone.stderr).toContain(`no lab named "${testLab('itest-pair')}" is running`);
    expect(gone.exitCode).toBe(1);
  }, 180_000);
});

// A lab whose second node never becomes ready, so `up` is reliably caught mid-way.
const stuck = (name: string, timeout: string) => `
name: ${name}
nodes:
  server: { kind: peer-server }
  waiter:
    kind: custom
    dependsOn: [server]
    args:
      command: "echo waiting for something that never comes; sleep 600"
      ready: { log: "^never$", timeout: ${timeout} }
`;

describe('interrupted and failing up', () => {
  it('a readiness timeout fails up, shows the node\'s last log lines, and leaves nothing', async () => {
    const r = await acklab(['up', '-q', topologyCopy({ yaml: stuck(testLab('itest-slow'), '2s') }, testLab('itest-slow'))]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('Error: node "waiter" was not ready after 2s (waiting for a log line matching /^never$/); its last log lines:');
    expect(r.stderr).toContain('    waiting for something that never comes');
    expect(await countLab(testLab('itest-slow'))).toEqual({ containers: 0, networks: 0 });
  });

  it('up killed by SIGKILL mid-start leaves nothing: its watchdog removes the lab within the bound, with no acklab command run', async () => {
    const file = topologyCopy({ yaml: stuck(testLab('itest-kill'), '60s') }, testLab('itest-kill'));
    const up = execa('node', [CLI, 'up', file], { reject: false });
    // two nodes and the lease
    await waitFor('up to create the nodes', async () => (await countLab(testLab('itest-kill'))).containers === 3);
    up.kill('SIGKILL');
    const r = await up;
    expect(r.signal).toBe('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the killed up\'s lab to be gone', async () => {
      const left = await countLab(testLab('itest-kill'));
      return left.containers + left.networks === 0;
    }, 60_000);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
  });

  it('Ctrl-C (SIGINT) during up removes what was created and exits non-zero', async () => {
    const file = topologyCopy({ yaml: stuck(testLab('itest-int'), '60s') }, testLab('itest-int'));
    const up = execa('node', [CLI, 'up', file], { reject: false });
    // two nodes and the lease
    await waitFor('up to create the nodes', async () => (await countLab(testLab('itest-int'))).containers === 3);
    up.kill('SIGINT');
    const r = await up;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toContain(`Error: up of "${testLab('itest-int')}" interrupted; everything it created was removed`);
    expect(await countLab(testLab('itest-int'))).toEqual({ containers: 0, networks: 0 });
  });
});
