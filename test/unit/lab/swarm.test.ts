import { describe, expect, it } from 'vitest';
import { LABELS } from '../../../src/common/index.js';
import { Lab, SETTLE_SCRIPT, labRuntime, removeLab } from '../../../src/lab/index.js';
import { parseTopology } from '../../../src/topology/index.js';
import { FakeRuntime, FakeSwarms } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const inactive = { state: 'inactive', manager: false, nodeAddr: '', managers: [], nodeId: '' };
const overlayAnswers = (_node: string, argv: string[]) =>
  argv[2] === SETTLE_SCRIPT ? { exitCode: 0, stdout: JSON.stringify(Object.fromEntries(argv.slice(5).map((ip) => [ip, 2]))), stderr: '' } : undefined;

const formed = (advertiseB = 'advertise: 10.200.7.12') =>
  parseTopology(`
name: formed
swarm: form
engines:
  a: { address: "unix:///run/a.sock", advertise: 10.200.7.11 }
  b: { address: "unix:///run/b.sock"${advertiseB ? `, ${advertiseB}` : ''} }
nodes:
  s: { kind: peer-server, engine: a }
  c: { kind: peer-client, engine: b, args: { server: s } }
`);

function engines() {
  const swarms = new FakeSwarms();
  const home = new FakeRuntime({ idPrefix: 'h-', host: 'unix:///var/run/docker.sock' });
  const a = new FakeRuntime({ idPrefix: 'a-', host: 'unix:///run/a.sock', swarm: { ...inactive }, swarms, exec: overlayAnswers });
  const b = new FakeRuntime({ idPrefix: 'b-', host: 'unix:///run/b.sock', swarm: { ...inactive }, swarms, exec: overlayAnswers });
  const open = (address: string) => (address.includes('/a.') ? a : b);
  const state = async (rt: FakeRuntime) => {
    const s = (await rt.engine.facts()).swarm!;
    return s.state === 'active' ? (s.manager ? 'manager' : 'worker') : s.state;
  };
  const swarmEvents = () => [...a.events.map((e) => `a ${e}`), ...b.events.map((e) => `b ${e}`)].filter((e) => / swarm /.test(e));
  return { swarms, home, a, b, open, state, swarmEvents };
}

describe('swarm: form', () => {
  it('makes the first engine a manager and joins the others, marked as acklab’s, before the networks; the lab’s removal unmakes it', async () => {
    const { home, a, b, open, state, swarmEvents, swarms } = engines();
    const lines: string[] = [];
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false, onProgress: (l) => lines.push(l) });
    expect([await state(a), await state(b)]).toEqual(['manager', 'worker']);
    expect(swarmEvents()).toEqual(['a swarm init 10.200.7.11', 'b swarm join 10.200.7.11:2377 as 10.200.7.12']);
    const swarm = swarms.of(a)!;
    expect(swarm.labels).toEqual({ [LABELS.swarm]: 'formed' });
    expect([...swarm.nodes.values()].map((n) => n.labels[LABELS.swarm])).toEqual(['manager', 'worker']);
    expect(lines).toEqual(expect.arrayContaining(['swarm: a made a swarm, advertising 10.200.7.11', 'swarm: b joined it, advertising 10.200.7.12']));
    // The swarm came before the lab's network: a's events have the init ahead of the network.
    expect(a.events.findIndex((e) => e.startsWith('swarm init'))).toBeLessThan(a.events.findIndex((e) => e.startsWith('network+')));

    const removed = await removeLab(await labRuntime(home, { open }), 'formed');
    expect(removed.swarms).toEqual(['unmade the swarm acklab formed on a (2 engines)']);
    expect([await state(a), await state(b)]).toEqual(['inactive', 'inactive']);
    // The worker leaves; the manager, the swarm's last, with force.
    expect(swarmEvents().filter((e) => e.includes('leave'))).toEqual(['a swarm leave --force', 'b swarm leave']);
  });

  it('an engine that does not answer fails the start before the first engine makes a swarm', async () => {
    const { home, a, b, open, state, swarmEvents } = engines();
    b.behaviour.unreachable = 'ssh ended (exit 255): Host key verification failed.';
    await expect(Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false })).rejects.toThrow('Host key verification failed.');
    expect(swarmEvents()).toEqual([]);
    expect([await state(a)]).toEqual(['inactive']);
    expect([...a.containersById.values(), ...home.containersById.values()].filter((c) => c.labels[LABELS.role] !== 'lease')).toEqual([]);
  });

  it('a worker whose orderly leave times out is made to leave, and the swarm is still unmade', async () => {
    const { home, a, b, open, state, swarmEvents } = engines();
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false });
    b.behaviour.orderlyLeavesFail = 1;
    const removed = await removeLab(await labRuntime(home, { open }), 'formed');
    expect(removed.swarms).toEqual(['unmade the swarm acklab formed on a (2 engines)']);
    expect([await state(a), await state(b)]).toEqual(['inactive', 'inactive']);
    expect(swarmEvents().filter((e) => e.includes('leave'))).toEqual(['a swarm leave --force', 'b swarm leave failed', 'b swarm leave --force']);
  });

  it('a start that fails after forming the swarm unmakes it and leaves nothing', async () => {
    const { home, a, b, open, state } = engines();
    const err = await Lab.fromTopology(formed('')).start({ runtime: home, images, openEngine: open, watchdog: false }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /engine "b" \(unix:\/\/\/run\/b\.sock\) could not join a's swarm at 10\.200\.7\.11:2377: .*could not choose an IP address to advertise.*say it: engines: \{ b: \{ address: …, advertise: IP \} \}/,
    );
    expect([await state(a), await state(b)]).toEqual(['inactive', 'inactive']);
    expect([...home.containersById.values(), ...a.containersById.values(), ...b.containersById.values()]).toEqual([]);
  });

  it('a swarm two labs are on stays until the last of them goes', async () => {
    const { home, a, b, open, state, swarmEvents } = engines();
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false, name: 'one' });
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false, name: 'two' });
    expect(swarmEvents()).toHaveLength(2);
    const first = await removeLab(await labRuntime(home, { open }), 'one');
    expect(first.swarms).toEqual(['the swarm acklab formed on a stays: a lab on a, b uses it']);
    expect([await state(a), await state(b)]).toEqual(['manager', 'worker']);
    const last = await removeLab(await labRuntime(home, { open }), 'two');
    expect(last.swarms).toEqual(['unmade the swarm acklab formed on a (2 engines)']);
    expect([await state(a), await state(b)]).toEqual(['inactive', 'inactive']);
  });

  it('a swarm acklab found is left as it was; an engine acklab joined to it leaves it again, off the manager’s list', async () => {
    const { home, a, b, open, state, swarms } = engines();
    await a.engine.swarm.init({ advertiseAddr: '10.200.7.11', labels: {} });
    const before = [...swarms.of(a)!.nodes.keys()];
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false });
    expect([await state(a), await state(b)]).toEqual(['manager', 'worker']);
    const removed = await removeLab(await labRuntime(home, { open }), 'formed');
    expect(removed.swarms).toEqual(["b left a's swarm, which acklab had joined it to"]);
    expect([await state(a), await state(b)]).toEqual(['manager', 'inactive']);
    expect([...swarms.of(a)!.nodes.keys()]).toEqual(before);
  });

  it('a formed swarm that something else uses stays: a service, a node acklab did not put there', async () => {
    const { home, a, b, open, state, swarms } = engines();
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false });
    swarms.of(a)!.services = 1;
    expect((await removeLab(await labRuntime(home, { open }), 'formed')).swarms).toEqual(['the swarm acklab formed on a stays: it runs 1 service']);
    expect([await state(a), await state(b)]).toEqual(['manager', 'worker']);

    swarms.of(a)!.services = 0;
    const third = new FakeRuntime({ idPrefix: 'c-', swarm: { ...inactive }, swarms, defaultAdvertise: '10.200.7.13' });
    await third.engine.swarm.join({ managerAddr: '10.200.7.11:2377', token: (await a.engine.swarm.inspect()).workerToken });
    await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false });
    expect((await removeLab(await labRuntime(home, { open }), 'formed')).swarms).toEqual([expect.stringMatching(/^the swarm acklab formed on a stays: node node\d+ was not put in it by acklab$/)]);
    expect(await state(a)).toBe('manager');
  });

  it('refuses an engine in another swarm rather than taking it out of it', async () => {
    const { home, a, b, open, state } = engines();
    const other = new FakeRuntime({ idPrefix: 'o-', swarm: { ...inactive }, swarms: new FakeSwarms() });
    await other.engine.swarm.init({ advertiseAddr: '10.9.9.9', labels: {} });
    b.behaviour.swarm = { state: 'active', manager: false, nodeAddr: '10.200.7.12', managers: ['10.9.9.9:2377'], nodeId: 'x' };
    const err = await Lab.fromTopology(formed()).start({ runtime: home, images, openEngine: open, watchdog: false }).catch((e: Error) => e);
    expect((err as Error).message).toContain('the engines of a lab must form one swarm (acklab forms one only from engines in no swarm)');
    expect((err as Error).message).toContain('engine "b" (unix:///run/b.sock) is in another swarm (its managers: 10.9.9.9:2377');
    // The swarm it made on a for the lab is unmade again; b is untouched.
    expect(await state(a)).toBe('inactive');
    expect(b.events.filter((e) => e.startsWith('swarm'))).toEqual([]);
  });
});
