import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { engineMembers, multiEngineRuntime } from '../../../src/runtime/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

function twoEngines() {
  const a = new FakeRuntime({ idPrefix: 'a-', host: 'unix:///run/a.sock' });
  const b = new FakeRuntime({ idPrefix: 'b-', host: 'unix:///run/b.sock' });
  const rt = multiEngineRuntime([
    { name: 'a', address: 'unix:///run/a.sock', runtime: a },
    { name: 'b', address: 'unix:///run/b.sock', runtime: b },
  ]);
  return { a, b, rt };
}

const spec = (name: string, labels: Record<string, string> = {}) => ({ name, image: 'img', command: [], labels });

describe('multiEngineRuntime', () => {
  it('creates a container on the engine its engine label names, else on the primary', async () => {
    const { a, b, rt } = twoEngines();
    const onB = await rt.containers.create(spec('x', { [LABELS.engine]: 'b' }));
    const onA = await rt.containers.create(spec('y'));
    expect([...b.containersById.keys()]).toEqual([onB]);
    expect([...a.containersById.keys()]).toEqual([onA]);
  });

  it('refuses an engine label that names no engine, saying which engines there are', async () => {
    const { rt } = twoEngines();
    await expect(rt.containers.create(spec('x', { [LABELS.engine]: 'c' }))).rejects.toThrow('no engine named "c"; engines: a, b');
  });

  it('makes a sidecar on the engine of the container whose namespace it joins', async () => {
    const { b, rt } = twoEngines();
    const node = await rt.containers.create(spec('n', { [LABELS.engine]: 'b' }));
    const sidecar = await rt.containers.create({ ...spec('n.shaper'), networkMode: { container: node } });
    expect(b.containersById.has(sidecar)).toBe(true);
  });

  it('sends each operation on a container to the engine that has it, also one it did not create', async () => {
    const { a, b, rt } = twoEngines();
    const onB = await b.containers.create({ ...spec('z'), hostname: 'z' });
    await rt.containers.start(onB);
    expect(b.events).toContain('start z');
    expect(a.events.filter((e) => e.startsWith('start'))).toEqual([]);
    expect((await rt.containers.exec(onB, ['true'])).stdout).toBe('z: true');
    await rt.containers.remove(onB);
    expect(b.containersById.has(onB)).toBe(false);
    // Gone everywhere: removing again is not an error, anything else says no engine has it.
    await expect(rt.containers.remove(onB)).resolves.toBeUndefined();
    await expect(rt.containers.inspect(onB)).rejects.toThrow('no engine of a, b has container');
  });

  it('lists the containers of every engine, and networks once each', async () => {
    const { a, b, rt } = twoEngines();
    await rt.containers.create(spec('x', { k: 'v', [LABELS.engine]: 'a' }));
    await rt.containers.create(spec('y', { k: 'v', [LABELS.engine]: 'b' }));
    await rt.containers.create(spec('z', { [LABELS.engine]: 'b' }));
    expect((await rt.containers.list(['k=v'])).map((c) => c.name).sort()).toEqual(['x', 'y']);
    const net = await rt.networks.create({ name: 'ov', labels: { k: 'v' }, driver: 'overlay', attachable: true });
    expect(a.networksById.has(net.id)).toBe(true);
    // An overlay network shows on every engine with a container on it: the same id, listed once.
    b.networksById.set(net.id, { ...net });
    expect((await rt.networks.list(['k=v'])).map((n) => n.id)).toEqual([net.id]);
  });

  it('connects a container to a network on the container\'s engine', async () => {
    const { b, rt } = twoEngines();
    const net = await rt.networks.create({ name: 'ov', labels: {} });
    b.networksById.set(net.id, { ...net });
    const id = await rt.containers.create({ ...spec('y', { [LABELS.engine]: 'b' }), hostname: 'y' });
    await rt.networks.connect(net.id, id, ['y']);
    expect(b.events).toContain('connect y ov as y');
  });

  it('rejects two engines of one name; engineMembers of a plain runtime is that one engine', () => {
    const a = new FakeRuntime();
    expect(() => multiEngineRuntime([{ name: 'a', address: 'x', runtime: a }, { name: 'a', address: 'y', runtime: a }])).toThrow('engine "a" is named twice');
    expect(engineMembers(a)).toEqual([{ name: 'default', address: 'fake://engine', runtime: a }]);
  });
});

describe('multiEngineRuntime: network removal', () => {
  it('returns once no engine lists the network any more (a worker lets go of an overlay network a moment after the manager)', async () => {
    const { a, b, rt } = twoEngines();
    const net = await rt.networks.create({ name: 'ov', labels: {}, driver: 'overlay', attachable: true });
    b.networksById.set(net.id, { ...net });
    // The worker refuses to remove it itself, and lets it go 300 ms after the manager removed it.
    b.networks.remove = async () => {
      throw new Error('network is a swarm scope network: remove it on a manager');
    };
    const remove = a.networks.remove;
    a.networks.remove = async (id) => {
      await remove(id);
      setTimeout(() => b.networksById.delete(id), 300);
    };
    const t0 = Date.now();
    await rt.networks.remove(net.id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(a.networksById.has(net.id) || b.networksById.has(net.id)).toBe(false);
  });

  it('throws the engine\'s error when every engine that lists the network refuses', async () => {
    const { a, rt } = twoEngines();
    const net = await rt.networks.create({ name: 'ov', labels: {} });
    a.networks.remove = async () => {
      throw new Error('network has active endpoints');
    };
    await expect(rt.networks.remove(net.id)).rejects.toThrow('network has active endpoints');
    // Listed nowhere: already gone.
    await expect(rt.networks.remove('nope')).resolves.toBeUndefined();
  });
});
