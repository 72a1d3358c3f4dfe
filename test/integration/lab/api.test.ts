/** The programmatic API: `await using lab = await Lab.fromFile(f).start()`, the peer pair's acks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageTags } from '../../../src/images/index.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { Lab, chooseSubnets } from '../../../src/lab/index.js';
import { countLab, labImages, removeTestLabs, runtime, topologyCopy, waitFor, testLab } from './helpers.js';

const LABS = [testLab('itest-api-pair'), testLab('itest-api-nets'), testLab('itest-api-echo')];
let images: ImageTags;

beforeAll(async () => {
  images = await labImages();
  await removeTestLabs(LABS);
}, 300_000);

afterAll(async () => {
  await removeTestLabs(LABS);
}, 120_000);

describe('Lab API', () => {
  it('the peer pair counts exactly one ack per update inside the lab, then await using removes it', async () => {
    const file = topologyCopy(
      {
        yaml: `
name: ${testLab('itest-api-pair')}
nodes:
  server: { kind: peer-server }
  client: { kind: peer-client, args: { server: server, interval: 100ms, count: 12 } }
`,
      },
      testLab('itest-api-pair'),
    );
    {
      await using lab = await Lab.fromFile(file).start({ images });
      expect(lab.node('client').addresses.net).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      await waitFor('the client to finish', async () => !(await lab.state('client')).running, 60_000);
      expect(await lab.state('client')).toMatchObject({ state: 'exited', exitCode: 0 });
      const out = await lab.logs('client');
      expect(out).toContain('Received 12 acks');
      expect(out.match(/Client received <Ack>/g)).toHaveLength(12);
      const server = await lab.logs('server');
      expect(server.match(/Server received <update>/g)).toHaveLength(12);
      // two nodes and the lab's lease
      expect(await countLab(testLab('itest-api-pair'))).toEqual({ containers: 3, networks: 1 });
    }
    expect(await countLab(testLab('itest-api-pair'))).toEqual({ containers: 0, networks: 0 });
  }, 120_000);

  it('two networks joined by one node: the router is reachable from both sides, the sides not from each other', async () => {
    // User subnets that no other network (another test run's, say) has right now.
    const taken = (await runtime.networks.list()).flatMap((n) => n.subnets.map((subnet) => ({ network: n.name, subnet })));
    const free = chooseSubnets([{ name: 'left' }, { name: 'right' }], taken);
    const [left, right] = [free.get('left')!, free.get('right')!];
    const file = topologyCopy({ file: 'two-networks.yaml' }, testLab('itest-api-nets'));
    const text = readFileSync(file, 'utf8').replace('subnet: 10.77.1.0/24', `subnet: ${left}`).replace('subnet: 10.77.2.0/24', `subnet: ${right}`);
    writeFileSync(file, text);
    const prefix = (cidr: string) => cidr.replace(/\.0\/24$/, '.').replaceAll('.', '\\.');
    await using lab = await Lab.fromFile(file).start({ images, steps: [] });
    expect(Object.keys(lab.node('router').addresses).sort()).toEqual(['left', 'right']);
    expect(lab.node('router').addresses.left).toMatch(new RegExp(`^${prefix(left)}`));
    expect((await lab.exec('left', ['getent', 'hosts', 'router'])).stdout).toMatch(new RegExp(`^${prefix(left)}\\d+\\s+router`));
    expect((await lab.exec('right', ['getent', 'hosts', 'router'])).stdout).toMatch(new RegExp(`^${prefix(right)}\\d+\\s+router`));
    expect((await lab.exec('left', ['getent', 'hosts', 'right'])).exitCode).not.toBe(0);
  }, 120_000);

  it('echo.yaml: both clients get their lines back from the echo server, by name', async () => {
    await using lab = await Lab.fromFile(topologyCopy({ file: 'echo.yaml' }, testLab('itest-api-echo'))).start({ images });
    for (const client of ['alice', 'bob']) {
      await waitFor(`${client} to get an echo`, async () => (await lab.logs(client)).includes(`echoed: hello 2 from ${client}`), 30_000);
    }
    expect(await lab.logs('echo')).toMatch(/Connected from/);
  }, 120_000);
});
