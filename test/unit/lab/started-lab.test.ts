/** StartedLab's own API on the fake runtime: typed options checked like files, process faults, copyFrom, logs, silence. */
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConditionError } from '../../../src/conditions/index.js';
import { Lab, type StartedLab } from '../../../src/lab/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const PAIR = `
name: pair
nodes:
  server: { kind: peer-server }
  client: { kind: peer-client, args: { server: server } }
`;

async function started(rt = new FakeRuntime()): Promise<{ rt: FakeRuntime; lab: StartedLab }> {
  return { rt, lab: await Lab.fromYaml(PAIR).start({ runtime: rt, images, runId: 'r1' }) };
}

const sidecars = (rt: FakeRuntime) => [...rt.containersById.values()].filter((c) => c.labels['dev.acklab.role'] === 'sidecar');

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
  vi.restoreAllMocks();
});

describe('StartedLab.impair', () => {
  it('refuses bad options all at once, with the rule named, before any sidecar exists', async () => {
    const { rt, lab } = await started();
    const err = await lab.impair('client', { to: 'server', delay: '10ms', jitter: '50ms', loss: '120%' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConditionError);
    expect((err as ConditionError).problems).toEqual([
      'impair client -> server: loss: percentage "120%" is outside 0–100 %',
      'impair client -> server: jitter: jitter must be ≤ delay (jitter 50ms > delay 10ms)',
    ]);
    expect(sidecars(rt)).toEqual([]);
  });

  it('refuses an option it does not know (a JavaScript caller\'s typo), naming the allowed ones', async () => {
    const { lab } = await started();
    await expect(lab.impair('client', { dealy: '10ms' } as never)).rejects.toThrow(/impair client: dealy: unknown option; allowed: to, forMs, delay, jitter, distribution, delayCorrelation, loss/);
  });

  it('names an exited node as exited, not unknown', async () => {
    const { rt, lab } = await started();
    await rt.containers.kill(lab.node('client').containerId, 'SIGTERM');
    await expect(lab.impair('client', { delay: '10ms' })).rejects.toThrow('node "client" of lab "pair" is exited (exit code 143): impair needs it running');
    await expect(lab.impair('nope', { delay: '10ms' })).rejects.toThrow('lab "pair" has no node "nope"; nodes: server, client');
  });
});

// Applying conditions goes through the nodes' agents (test/unit/impair/controller.test.ts on fake
// kernels, test/integration/lab/started-lab.test.ts on real containers); here: what is refused first.
describe('StartedLab.partition', () => {
  it('takes groups as arrays or text and refuses unknown nodes and styles before any sidecar exists', async () => {
    const { rt, lab } = await started();
    await expect(lab.partition([['client'], ['nobody']])).rejects.toThrow('unknown node "nobody"');
    await expect(lab.partition('client | server', { style: 'explode' as never })).rejects.toThrow('style: "explode" is not one of drop, reset');
    await expect(lab.partition('client')).rejects.toThrow('a partition needs at least two groups');
    await expect(lab.partition('client | server', { forMs: -5 })).rejects.toThrow('partition: forMs: must be a number of milliseconds, > 0');
    await expect(lab.impair('client', { delay: '5ms', forMs: Number.NaN })).rejects.toThrow('impair client: forMs: must be a number of milliseconds');
    await rt.containers.kill(lab.node('client').containerId);
    await expect(lab.partition([['client'], ['server']])).rejects.toThrow('node "client" of lab "pair" is exited (exit code 137): partition needs it running');
    expect(sidecars(rt)).toEqual([]);
  });
});

describe('StartedLab process faults', () => {
  it('kill, start, pause, resume and stop(node) act on one node; stop() removes the lab', async () => {
    const { rt, lab } = await started();
    await lab.kill('client');
    expect(await lab.state('client')).toMatchObject({ state: 'exited', running: false, exitCode: 137 });
    await expect(lab.pause('client')).rejects.toThrow('node "client" of lab "pair" is exited (exit code 137); pause needs it running');
    await lab.start('client');
    expect((await lab.state('client')).running).toBe(true);
    await lab.pause('server');
    expect(await lab.state('server')).toMatchObject({ paused: true });
    await expect(lab.exec('server', ['true'])).rejects.toThrow('node "server" of lab "pair" is paused: exec needs it running');
    await lab.resume('server');
    await lab.resume('server'); // resuming a running node is a no-op
    await lab.stop('server');
    expect(await lab.state('server')).toMatchObject({ state: 'exited', exitCode: 0 });
    expect(rt.events.filter((e) => /^(kill|start|pause|unpause|stop) (client|server)/.test(e)).slice(-5)).toEqual([
      'kill client SIGKILL',
      'start client',
      'pause server',
      'unpause server',
      'stop server',
    ]);
    // the two nodes and the lab's lease
    expect(await lab.stop()).toEqual({ containers: 3, networks: 1 });
    expect(rt.containersById.size).toBe(0);
  });

  it('restart stops and starts the same container', async () => {
    const { rt, lab } = await started();
    const id = lab.node('server').containerId;
    await lab.restart('server', { graceMs: 100 });
    expect(rt.events.slice(-2)).toEqual(['stop server', 'start server']);
    expect(lab.node('server').containerId).toBe(id);
  });
});

describe('StartedLab.copyFrom and logs', () => {
  it('copies a file or a directory out of a node, also an exited one, like docker cp', async () => {
    const { rt, lab } = await started();
    const c = rt.containerOf('client');
    c.files.set('/home/acklab/out/a.jsonl', '{"a":1}\n');
    c.files.set('/home/acklab/out/sub/b.txt', 'b\n');
    await lab.kill('client');
    tmp = mkdtempSync(path.join(tmpdir(), 'acklab-cp-'));
    expect(await lab.copyFrom('client', '/home/acklab/out/a.jsonl', path.join(tmp, 'renamed.jsonl'))).toEqual([path.join(tmp, 'renamed.jsonl')]);
    expect(readFileSync(path.join(tmp, 'renamed.jsonl'), 'utf8')).toBe('{"a":1}\n');
    mkdirSync(path.join(tmp, 'into'));
    const written = await lab.copyFrom('client', '/home/acklab/out', path.join(tmp, 'into'));
    expect(written.map((f) => path.relative(tmp!, f)).sort()).toEqual(['into/out/a.jsonl', 'into/out/sub/b.txt']);
    await expect(lab.copyFrom('client', '/nowhere', tmp)).rejects.toThrow('node "client" of lab "pair" has no /nowhere');
  });

  it('logs passes tail, since (a duration before now) and timestamps to the engine', async () => {
    const { rt, lab } = await started();
    const spy = vi.spyOn(rt.containers, 'logs');
    const before = Date.now();
    await lab.logs('client', { tail: 5, since: '30s', timestamps: true });
    const options = spy.mock.calls[0]![1]!;
    expect(options).toMatchObject({ tail: 5, timestamps: true });
    expect(options.sinceMs! - (before - 30_000)).toBeLessThan(1000);
    await expect(lab.logs('client', { since: 'yesterday' })).rejects.toThrow('"yesterday" is neither a duration before now');
  });
});

describe('library silence', () => {
  it('prints nothing by default; progress goes to the logger the caller passes', async () => {
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    const { lab } = await started();
    await lab.kill('client');
    await lab.start('client');
    await lab.copyFrom('client', '/nowhere', '/tmp').catch(() => {});
    expect(out).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
    const lines: string[] = [];
    await Lab.fromYaml(PAIR).start({ runtime: new FakeRuntime(), images, logger: { info: (l) => lines.push(l), warn: (l) => lines.push(l) } });
    expect(lines.some((l) => l.startsWith('creating 2 containers'))).toBe(true);
  });
});
