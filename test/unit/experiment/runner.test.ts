/**
 * The experiment runner against the fake runtime: phases in order, the run folder's files, the
 * timeline as played, the lab always removed (after a failure and an abort too), and the summary.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NetworkAction } from '../../../src/conditions/index.js';
import {
  claimDefaultSweepDir,
  describeExperimentPlan,
  parseExperiment,
  prepareExperiment,
  runExperiment,
  type NetworkPlayer,
  type ProgressSink,
} from '../../../src/experiment/index.js';
import type { LabEvent, LabStep } from '../../../src/impair/index.js';
import type { RunManifest } from '../../../src/results/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'acklab-test-runner-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const images = { node: 'acklab/node:test', shaper: 'acklab/shaper:test' };
const EVENTS = '/tmp/acklab-events.ndjson';

const experiment = (conditions: string, duration = '400ms') =>
  parseExperiment(
    `name: fake
seed: 3
duration: ${duration}
topology:
  name: fake
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server } }
${conditions}`,
    path.join(tmp, 'fake.yaml'),
  );

/** The client "runs" once its gate opens: it has sent 2 updates and got 2 acks, and says so in its events. */
function runtime(opts: { crash?: Set<string> } = {}): FakeRuntime {
  return new FakeRuntime({
    ...(opts.crash ? { crash: opts.crash } : {}),
    exec: (node, argv, c) => {
      if (argv[0] === 'touch' && node === 'client') {
        const ts = Date.now();
        const lines = [
          { ts, event: 'connected', peer: 'server:8888', conn: 1 },
          { ts, event: 'update_sent', conn: 1, seq: 1 },
          { ts: ts + 1, event: 'ack_received', conn: 1, seq: 1, rttMs: 1 },
          { ts: ts + 2, event: 'update_sent', conn: 1, seq: 2 },
          { ts: ts + 3, event: 'ack_received', conn: 1, seq: 2, rttMs: 1 },
        ];
        c.files.set(EVENTS, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
      }
      return undefined;
    },
  });
}

/**
 * A network player that records what it was asked to do, and plays the agents' part: each staged
 * step is "switched" at t0 + its offset on every node it touches, and reported to the watcher.
 */
function recordingPlayer(log: string[], opts: { problemAtMs?: number } = {}): () => NetworkPlayer {
  return () => {
    let staged: LabStep[] = [];
    let listener: ((e: LabEvent) => void) | undefined;
    return {
      async apply(action: NetworkAction) {
        log.push(`apply ${action.kind}`);
      },
      async schedule(steps) {
        staged = [...steps];
        log.push(`schedule ${steps.map((s) => `${s.id}@${s.atMs}:${[...s.ops.keys()].sort().join('+')}`).join(' ')}`);
      },
      async start(t0) {
        log.push('start');
        for (const s of staged) {
          setTimeout(() => {
            for (const node of s.ops.keys()) listener?.({ node, event: 'switched', stepId: s.id, dueMs: t0 + s.atMs, firedAtMs: t0 + s.atMs, switchedAtMs: t0 + s.atMs + 2, ok: true });
          }, Math.max(0, t0 + s.atMs - Date.now()));
        }
        if (opts.problemAtMs !== undefined) setTimeout(() => listener?.({ node: 'client', event: 'problem', atMs: t0 + opts.problemAtMs!, reason: 'the helper for client -> server (queue 100) exited (SIGKILL)' }), opts.problemAtMs);
      },
      async watch(l) {
        listener = l;
      },
      async nodeRestarted(node) {
        log.push(`restarted ${node}`);
      },
      read: async () => ({ lab: 'fake', nodes: [], cuts: [], healthy: true }),
      backend: async () => 'userspace',
      async prepare() {
        log.push('prepare');
      },
      close() {},
    };
  };
}

const quiet: ProgressSink = { runStarted() {}, runPhase() {}, runFinished() {}, log() {}, close() {} };

describe('runExperiment', () => {
  it('runs each condition in its own lab, plays the timeline, collects, records and removes the lab', async () => {
    const rt = runtime();
    const played: string[] = [];
    const out = path.join(tmp, 'ok');
    const result = await runExperiment(
      experiment(`conditions:
  - name: baseline
  - name: cut
    timeline: ["at: 100ms partition client | server", "at: 200ms heal"]
`),
      { runtime: rt, images, outDir: out, progress: quiet, player: recordingPlayer(played) },
    );
    expect(result.summary.runs.map((r) => [r.dir, r.status])).toEqual([['baseline-r1', 'ok'], ['cut-r1', 'ok']]);
    expect(played).toEqual(['prepare', 'schedule s0@100:client+server s1@200:client+server', 'start']);
    // every lab removed, whatever it made
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);

    const m = JSON.parse(readFileSync(path.join(out, 'cut-r1', 'manifest.json'), 'utf8')) as RunManifest;
    expect(m.timeline.map((t) => [t.atMs, t.ok, t.text])).toEqual([
      [100, true, 'at 100ms partition client | server'],
      [200, true, 'at 200ms heal'],
    ]);
    // each step as the nodes reported it: when it began, when it was in force on the last node, the spread
    expect(m.timeline.map((t) => [t.startedAtMs, t.appliedAtMs, t.spreadMs])).toEqual([
      [100, 102, 0],
      [200, 202, 0],
    ]);
    expect(Object.keys(m.timeline[0]!.nodes!).sort()).toEqual(['client', 'server']);
    expect(m.backend).toBe('userspace');
    expect(m.nodes.map((n) => n.name).sort()).toEqual(['client', 'server']);
    for (const f of ['metrics.json', 'conditions.json', 'nodes/client/stdout.log', 'nodes/client/events.ndjson']) {
      expect(existsSync(path.join(out, 'cut-r1', f)), f).toBe(true);
    }
    // metrics from what the "program" wrote, loaded once and returned for the reports
    expect(result.runs.map((r) => r.metrics.peer?.acksReceived)).toEqual([2, 2]);
    expect(JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).table.rows.map((r: { condition: string }) => r.condition)).toEqual(['baseline', 'cut']);
    // the clients were stopped before the servers, so servers answer while clients drain
    const stops = rt.events.filter((e) => e.startsWith('stop '));
    expect(stops.indexOf('stop client')).toBeLessThan(stops.indexOf('stop server'));
  });

  it('a run whose lab cannot start is recorded as failed, with the reason, and leaves nothing', async () => {
    const rt = runtime({ crash: new Set(['server']) });
    const out = path.join(tmp, 'failed');
    const result = await runExperiment(experiment('conditions:\n  - name: baseline\n'), { runtime: rt, images, outDir: out, progress: quiet, player: recordingPlayer([]) });
    expect(result.summary.runs[0]!.status).toBe('failed');
    const m = JSON.parse(readFileSync(path.join(out, 'baseline-r1', 'manifest.json'), 'utf8')) as RunManifest;
    expect(m.error).toMatch(/node "server" exited with status 3 before it was ready/);
    expect(rt.containersById.size).toBe(0);
    expect(rt.networksById.size).toBe(0);
  });

  it('an abort mid-run marks it interrupted, keeps what was collected and skips the rest', async () => {
    const rt = runtime();
    const abort = new AbortController();
    const out = path.join(tmp, 'aborted');
    // after the workload started (t0 comes a moment after the lab is up)
    setTimeout(() => abort.abort(new Error('interrupted')), 600);
    const result = await runExperiment(experiment('conditions:\n  - name: a\n  - name: b\n', '5s'), {
      runtime: rt,
      images,
      outDir: out,
      progress: quiet,
      signal: abort.signal,
      player: recordingPlayer([]),
    });
    expect(result.summary.interrupted).toBe(true);
    expect(result.summary.runs.map((r) => [r.dir, r.status])).toEqual([['a-r1', 'interrupted']]);
    expect(existsSync(path.join(out, 'a-r1', 'nodes/client/events.ndjson'))).toBe(true);
    expect(rt.containersById.size).toBe(0);
  });

  it('a condition lost mid-run makes the run invalid, with when and why, and never ok', async () => {
    const rt = runtime();
    const out = path.join(tmp, 'invalid');
    const result = await runExperiment(experiment('conditions:\n  - name: cut\n    timeline: ["at: 50ms partition client | server"]\n'), {
      runtime: rt,
      images,
      outDir: out,
      progress: quiet,
      player: recordingPlayer([], { problemAtMs: 100 }),
    });
    expect(result.summary.runs[0]!.status).toBe('invalid');
    expect(result.summary.verdict).toBe('invalid');
    const m = JSON.parse(readFileSync(path.join(out, 'cut-r1', 'manifest.json'), 'utf8')) as RunManifest;
    expect(m.invalid).toEqual([{ atMs: 100, reason: 'client: the helper for client -> server (queue 100) exited (SIGKILL)' }]);
    expect(result.runs[0]!.verdict.checks.find((c) => c.name === 'conditions')).toMatchObject({ verdict: 'invalid', reason: 'at +0.10s client: the helper for client -> server (queue 100) exited (SIGKILL)' });
  });

  it('process faults run at their time on the node\'s container; a node started again gets its conditions back', async () => {
    const rt = runtime();
    const played: string[] = [];
    const out = path.join(tmp, 'faults');
    await runExperiment(
      experiment(`conditions:
  - name: crash
    timeline: ["at: 100ms kill client", "at: 200ms start client", "at: 300ms pause server", "at: 350ms resume server"]
`, '600ms'),
      { runtime: rt, images, outDir: out, progress: quiet, player: recordingPlayer(played) },
    );
    // after the lab's own start of the client: the faults, in their order
    const ev = rt.events.slice(rt.events.indexOf('kill client SIGKILL')).filter((e) => /^(kill|start|pause|unpause) /.test(e));
    expect(ev).toEqual(['kill client SIGKILL', 'start client', 'pause server', 'unpause server']);
    expect(played).toContain('restarted client');
    const m = JSON.parse(readFileSync(path.join(out, 'crash-r1', 'manifest.json'), 'utf8')) as RunManifest;
    expect(m.timeline.map((t) => [t.text, t.ok, Object.keys(t.nodes ?? {})])).toEqual([
      ['at 100ms kill client', true, ['client']],
      ['at 200ms start client', true, ['client']],
      ['at 300ms pause server', true, ['server']],
      ['at 350ms resume server', true, ['server']],
    ]);
    for (const t of m.timeline) expect(t.startedAtMs!).toBeGreaterThanOrEqual(t.atMs);
  });

  it('a nemesis is expanded with the run\'s seed into recorded steps; the same seed replays the same groups', async () => {
    const yaml = `conditions:
  - name: halves
    nemesis: ["every 100ms partition random-halves from 50ms until 350ms"]
`;
    const groups = async (name: string) => {
      const out = path.join(tmp, name);
      await runExperiment(experiment(yaml, '500ms'), { runtime: runtime(), images, outDir: out, progress: quiet, player: recordingPlayer([]) });
      const m = JSON.parse(readFileSync(path.join(out, 'halves-r1', 'manifest.json'), 'utf8')) as RunManifest;
      return m.timeline.map((t) => t.text);
    };
    const first = await groups('nemesis-a');
    expect(first).toHaveLength(4);
    expect(first[0]).toMatch(/^at 50ms every 100ms partition random-halves: (client \| server|server \| client)$/);
    expect(first[3]).toBe('at 350ms every 100ms partition random-halves: ends');
    expect(await groups('nemesis-b')).toEqual(first);
  });

  it('refuses an --out folder that holds an earlier sweep, before anything is created; --force replaces its run folders', async () => {
    const out = path.join(tmp, 'existing');
    mkdirSync(path.join(out, 'baseline-r1'), { recursive: true });
    writeFileSync(path.join(out, 'baseline-r1', 'stale.txt'), 'from an earlier sweep');
    writeFileSync(path.join(out, 'notes.md'), 'mine');
    const rt = runtime();
    await expect(runExperiment(experiment('conditions:\n  - name: baseline\n'), { runtime: rt, images, outDir: out, progress: quiet, player: recordingPlayer([]) })).rejects.toThrow(
      `--out ${out} already exists and is not empty (an earlier sweep?); choose another folder, or add --force to write into it (run folders of the same names are replaced)`,
    );
    expect(rt.events).toEqual([]);
    expect(readFileSync(path.join(out, 'baseline-r1', 'stale.txt'), 'utf8')).toBe('from an earlier sweep');

    const result = await runExperiment(experiment('conditions:\n  - name: baseline\n'), { runtime: rt, images, outDir: out, force: true, progress: quiet, player: recordingPlayer([]) });
    expect(result.summary.runs.map((r) => r.status)).toEqual(['ok']);
    expect(existsSync(path.join(out, 'baseline-r1', 'stale.txt'))).toBe(false);
    expect(existsSync(path.join(out, 'baseline-r1', 'manifest.json'))).toBe(true);
    expect(readFileSync(path.join(out, 'notes.md'), 'utf8')).toBe('mine');
  });

  it('an empty --out folder is fine', async () => {
    const out = path.join(tmp, 'empty');
    mkdirSync(out);
    const result = await runExperiment(experiment(''), { runtime: runtime(), images, outDir: out, progress: quiet, player: recordingPlayer([]) });
    expect(result.summary.runs.map((r) => r.status)).toEqual(['ok']);
  });

  it('two sweeps claiming the same default folder at once get two folders', async () => {
    const base = path.join(tmp, 'runs', '20260101-120000-demo');
    const dirs = await Promise.all([claimDefaultSweepDir(base), claimDefaultSweepDir(base), claimDefaultSweepDir(base)]);
    expect(dirs.sort()).toEqual([base, `${base}-2`, `${base}-3`]);
  });

  it('refuses more nodes at once than the ceiling: one lab, or parallel runs together', async () => {
    const three = experiment('conditions:\n  - name: a\n  - name: b\n  - name: c\n');
    await expect(prepareExperiment(three, { parallel: 3, maxNodes: 5 })).rejects.toThrow(
      '3 parallel runs of 2 nodes make 6 containers at once, more than the ceiling of 5 (--max-nodes); lower --parallel or raise --max-nodes',
    );
    await expect(prepareExperiment(three, { parallel: 2, maxNodes: 5 })).resolves.toMatchObject({ parallel: 2 });
    await expect(prepareExperiment(three, { maxNodes: 1 })).rejects.toThrow(/nodes: the lab has 2 nodes; acklab starts at most 1 nodes in one lab/);
  });

  it('the dry-run plan says what would run, from the validated experiment', async () => {
    const loaded = experiment(`workload:
  - { node: client, start: 100ms }
conditions:
  - name: baseline
  - name: slow
    links: [{ from: "*", delay: 50ms }]
    timeline: ["at: 200ms heal"]
`);
    const plan = describeExperimentPlan(loaded, await prepareExperiment(loaded, { parallel: 2 }), 'out/dir');
    expect(plan.split('\n')).toEqual([
      'experiment "fake" (seed 3): 2 conditions × 1 repetition = 2 runs of 400ms, 2 at a time',
      'topology "fake" (inline): 2 nodes on net (subnet chosen at up, internal); each run is a lab of its own',
      'nodes (gated ones start at t0 plus their offset, once the condition is in force):',
      '  server (peer-server, before t0 (a server)): ["acklab-peer","server","0.0.0.0:8888","--events","/tmp/acklab-events.ndjson","--log","/tmp/acklab-server.log"]',
      '  client (peer-client, t0 + 100ms): ["acklab-peer","client","server:8888","--events","/tmp/acklab-events.ndjson"]',
      'conditions:',
      '  baseline: no condition beyond the topology',
      '  slow: impair * delay=50ms',
      '    at 200ms heal',
      'runs: baseline-r1, slow-r1',
      'output: out/dir',
      '',
    ]);
  });
});
