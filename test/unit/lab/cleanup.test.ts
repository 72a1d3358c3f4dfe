/**
 * Removing a lab by label: nodes, then networks, then the lease — so a detached lab never looks
 * like an orphan to a reaper running in another process in the middle of a `down`, and the counts
 * say what the lab had.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { Lab, encodeHolder, currentHolder, reapOrphans, removeLab } from '../../../src/lab/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const topo = parseTopology('name: done\nnodes:\n  s: { kind: peer-server }\n  c: { kind: peer-client, args: { server: s } }\n');

/** The holder label of a process that ran and exited (a finished `up`). */
function deadHolder(): string {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))']);
  const stat = child.stdout.toString();
  return encodeHolder({ ...currentHolder(), pid: child.pid!, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]! });
}

describe('removeLab', () => {
  it('removes nodes, then networks, then the lease; a reaper running meanwhile leaves the detached lab alone', async () => {
    const rt = new FakeRuntime();
    await (await Lab.fromTopology(topo).start({ runtime: rt, images, watchdog: false })).detach();
    const dead = deadHolder();
    for (const c of rt.containersById.values()) c.labels = { ...c.labels, [LABELS.holder]: dead };
    for (const n of rt.networksById.values()) n.labels = { ...n.labels, [LABELS.holder]: dead };

    // Another process's reaper, run after each container removal of the `down`.
    const reapedMeanwhile: string[] = [];
    const remove = rt.containers.remove.bind(rt.containers);
    rt.containers.remove = async (id) => {
      await remove(id);
      for (const r of await reapOrphans(rt)) reapedMeanwhile.push(r.lab);
    };
    rt.events.length = 0;

    expect(await removeLab(rt, 'done')).toEqual({ containers: 4, networks: 1 });
    expect(reapedMeanwhile).toEqual([]);
    const order = rt.events.filter((e) => e.startsWith('remove') || e.startsWith('network-'));
    expect(order.slice(0, 2).sort()).toEqual(['remove c', 'remove s']);
    expect(order[2]).toBe('network- acklab-done.net');
    expect(order.slice(3)).toHaveLength(2); // the lease and its detached mark, last
    expect(rt.containersById.size + rt.networksById.size).toBe(0);
  });

  it('counts a network of the lab that someone else removed meanwhile', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(topo).start({ runtime: rt, images, watchdog: false });
    const remove = rt.containers.remove.bind(rt.containers);
    rt.containers.remove = async (id) => {
      await remove(id);
      for (const n of [...rt.networksById.values()]) rt.networksById.delete(n.id);
    };
    expect(await removeLab(rt, 'done')).toEqual({ containers: 3, networks: 1 });
  });
});
