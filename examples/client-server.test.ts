/**
 * acklab from a test, as a user of the package writes it (`npm install acklab vitest`): start the
 * seed's peer pair on its own Docker network, slow the client's link to the server down, and
 * check that every update was still acked — and that the acks came back late. `make test` runs
 * this file against the packed package (test/integration/package/pack.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Lab, type StartedLab } from 'acklab';

// A lab name of our own: other labs on the same Docker engine are never touched.
const name = `example-${randomBytes(3).toString('hex')}`;
let lab: StartedLab;

beforeAll(async () => {
  lab = await Lab.fromYaml(`
name: ${name}
nodes:
  server: { kind: peer-server }
  client: { kind: peer-client, args: { server: server, interval: 250ms, count: 40 } }
`).start();
}, 300_000);

// Removes the lab's containers, networks and sidecars, whatever happened above.
afterAll(() => lab?.stop(), 60_000);

it('acks every update over a slow link, each one late by the added delay', async () => {
  await lab.impair('client', { to: 'server', delay: '50ms', jitter: '5ms', loss: '1%' });

  // What is in force, read back from the client's kernel.
  const conditions = await lab.conditions();
  const client = conditions.nodes.find((n) => n.node === 'client');
  expect(client?.impairments.map((i) => [i.to, i.impairment.delayMs])).toEqual([['server', 50]]);

  // The client sends 40 updates, waits for the last acks, prints a JSON summary and exits.
  expect(await lab.wait('client', { timeoutMs: 60_000 })).toBe(0);
  const summaryLine = (await lab.logs('client', { stream: 'stdout' })).split('\n').find((l) => l.startsWith('{"role":"client"'));
  const summary = JSON.parse(summaryLine ?? '{}') as { updatesSent: number; acksReceived: number; ackRttMs: { p95: number } };
  expect(summary.updatesSent).toBe(40);
  expect(summary.acksReceived).toBe(40);
  expect(summary.ackRttMs.p95).toBeGreaterThanOrEqual(45);
}, 120_000);
