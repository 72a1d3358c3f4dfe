/**
 * StartedLab's own API on real containers, as a test using the library would drive it: a partition
 * stops the acks and heal brings them back on the same connection; pause freezes the server and
 * resume thaws it; kill ends the client as a crash would, start runs it again; copyFrom reads a file
 * the server wrote, also after it exited; logs honours since and timestamps.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageTags } from '../../../src/images/index.js';
import { Lab, type StartedLab } from '../../../src/lab/index.js';
import { labImages, removeTestLabs, testLab, waitFor } from './helpers.js';

const NAME = testLab('itest-started-lab');
let lab: StartedLab;
let images: ImageTags;
let tmp: string;

const acks = async () => ((await lab.logs('client', { stream: 'stdout' })).match(/Client received <Ack>/g) ?? []).length;

beforeAll(async () => {
  images = await labImages();
  await removeTestLabs([NAME]);
  tmp = mkdtempSync(path.join(tmpdir(), 'acklab-started-lab-'));
  lab = await Lab.fromYaml(`
name: ${NAME}
nodes:
  server: { kind: peer-server, args: { log: server-log.jsonl } }
  client: { kind: peer-client, args: { server: server, interval: 200ms } }
`).start({ images });
}, 300_000);

afterAll(async () => {
  await lab?.stop();
  rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('StartedLab on real containers', () => {
  it('partition stops the acks; heal brings them back on the same connection', async () => {
    await waitFor('acks', async () => (await acks()) >= 3);
    const cuts = await lab.partition([['client'], ['server']]);
    expect(cuts).toHaveLength(2);
    expect((await lab.conditions()).cuts).toEqual(expect.arrayContaining([{ from: 'client', to: 'server', style: 'drop' }]));
    let atCut = await acks();
    await waitFor('acks to stop', async () => {
      await new Promise((r) => setTimeout(r, 600));
      const now = await acks();
      const settled = now === atCut;
      atCut = now;
      return settled;
    });
    await lab.heal();
    expect((await lab.conditions()).cuts).toEqual([]);
    await waitFor('acks to resume', async () => (await acks()) > atCut, 30_000);
    expect((await lab.logs('client')).match(/Connected to/g)).toHaveLength(1);
  }, 90_000);

  it('pause freezes the server (no acks), resume thaws it', async () => {
    await lab.pause('server');
    expect(await lab.state('server')).toMatchObject({ paused: true });
    const atPause = await acks();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await acks()).toBeLessThanOrEqual(atPause + 1); // one ack may have been on the wire
    await lab.resume('server');
    await waitFor('acks after resume', async () => (await acks()) > atPause + 1, 30_000);
  }, 60_000);

  it('kill ends the client like a crash (137); start runs it again in the same container', async () => {
    await lab.kill('client');
    expect(await lab.state('client')).toMatchObject({ state: 'exited', exitCode: 137 });
    await expect(lab.impair('client', { delay: '5ms' })).rejects.toThrow(`node "client" of lab "${NAME}" is exited (exit code 137): impair needs it running`);
    await lab.start('client');
    expect((await lab.state('client')).running).toBe(true);
    await waitFor('the restarted client to connect again', async () => ((await lab.logs('client')).match(/Connected to/g) ?? []).length === 2, 30_000);
  }, 60_000);

  it('copyFrom reads what the server wrote, also once it has exited; logs honours since and timestamps', async () => {
    await lab.stop('server', { graceMs: 2000 });
    expect((await lab.state('server')).running).toBe(false);
    const written = await lab.copyFrom('server', '/home/acklab/server-log.jsonl', tmp);
    expect(written).toEqual([path.join(tmp, 'server-log.jsonl')]);
    expect(readFileSync(written[0]!, 'utf8').trim().split('\n').length).toBeGreaterThan(3);
    const stamped = (await lab.logs('server', { tail: 2, timestamps: true })).trim().split('\n');
    expect(stamped).toHaveLength(2);
    for (const l of stamped) expect(l).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z /);
    expect(await lab.logs('server', { since: new Date(Date.now() + 60_000) })).toBe('');
  }, 60_000);
});
