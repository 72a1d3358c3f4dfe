/**
 * Reaping by label: runs whose holder process is gone and that were never detached are removed;
 * detached labs, labs of live processes and labs held in another pid namespace or on another host
 * are left alone. Holders are identified by host, pid, start time and namespace.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LABELS, labelFilter } from '../../../src/common/index.js';
import { Lab, currentHolder, decodeHolder, encodeHolder, holderState, listLabs, reapOrphans } from '../../../src/lab/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const topo = (name: string) => parseTopology(`name: ${name}\nnodes:\n  s: { kind: peer-server }\n  c: { kind: peer-client, args: { server: s } }\n`);

/** A holder that existed once: a process that ran and exited. */
function deadHolder(): string {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("fs").readFileSync("/proc/self/stat","utf8"))']);
  const stat = child.stdout.toString();
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return encodeHolder({ ...currentHolder(), pid: child.pid!, start: fields[19]! });
}

function relabel(rt: FakeRuntime, lab: string, holder: string): void {
  for (const c of rt.containersById.values()) if (c.labels[LABELS.lab] === lab) c.labels = { ...c.labels, [LABELS.holder]: holder };
  for (const n of rt.networksById.values()) if (n.labels[LABELS.lab] === lab) n.labels = { ...n.labels, [LABELS.holder]: holder };
}

describe('holders', () => {
  it('this process is alive; a process that exited is dead; elsewhere is unknown', () => {
    expect(holderState(currentHolder())).toBe('alive');
    expect(holderState(decodeHolder(deadHolder()))).toBe('dead');
    // A reused pid with another start time is not the holder.
    expect(holderState({ ...currentHolder(), start: '1' })).toBe('dead');
    expect(holderState({ ...currentHolder(), host: 'elsewhere' })).toBe('unknown');
    expect(holderState({ ...currentHolder(), ns: 'other-boot/4026531836' })).toBe('unknown');
    expect(holderState(decodeHolder('not a holder'))).toBe('unknown');
  });

  it('round-trips through the label value', () => {
    const h = currentHolder();
    expect(decodeHolder(encodeHolder(h))).toEqual(h);
  });
});

describe('reapOrphans', () => {
  it('removes the runs of dead holders that were not detached, and nothing else', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(topo('orphan')).start({ runtime: rt, images });
    await (await Lab.fromTopology(topo('finished-up')).start({ runtime: rt, images })).detach();
    await Lab.fromTopology(topo('live')).start({ runtime: rt, images });
    await Lab.fromTopology(topo('remote')).start({ runtime: rt, images });
    const dead = deadHolder();
    relabel(rt, 'orphan', dead);
    relabel(rt, 'finished-up', dead);
    relabel(rt, 'remote', encodeHolder({ ...decodeHolder(dead)!, host: 'ci-runner-7' }));

    const lines: string[] = [];
    const reaped = await reapOrphans(rt, { log: (l) => lines.push(l) });
    expect(reaped.map((r) => [r.lab, r.containers, r.networks])).toEqual([['orphan', 3, 1]]);
    expect(lines).toEqual([expect.stringMatching(/^removed lab "orphan" \(run \w+\): 3 containers, 1 networks — the acklab process that held it \(pid \d+\) is gone$/)]);
    expect((await listLabs(rt)).map((l) => l.lab)).toEqual(['finished-up', 'live', 'remote']);
    // Once more: nothing left to reap.
    expect(await reapOrphans(rt)).toEqual([]);
  });

  it("a watchdog's pass reaps exactly its own process's runs, test resources included", async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(topo('mine')).start({ runtime: rt, images });
    await Lab.fromTopology(topo('other')).start({ runtime: rt, images });
    relabel(rt, 'other', 'elsewhere:1:1:-');
    const mine = encodeHolder(currentHolder());
    // A test's own container, labelled with the process's holder but no lab.
    await rt.containers.create({ image: 'x', command: [], labels: { [LABELS.managed]: 'true', [LABELS.role]: 'test', [LABELS.holder]: mine } });
    const reaped = await reapOrphans(rt, { isDead: (h) => h === mine });
    expect(reaped.map((r) => r.lab).sort()).toEqual(['', 'mine']);
    expect((await rt.containers.list(labelFilter({}))).map((c) => c.labels[LABELS.lab])).toEqual(['other', 'other', 'other']);
  });

  it('networks left without their containers (a cleanup cut short) go too', async () => {
    const rt = new FakeRuntime();
    await Lab.fromTopology(topo('half')).start({ runtime: rt, images });
    relabel(rt, 'half', deadHolder());
    for (const c of [...rt.containersById.values()]) await rt.containers.remove(c.id);
    expect(rt.networksById.size).toBe(1);
    await reapOrphans(rt);
    expect(rt.networksById.size).toBe(0);
  });
});
