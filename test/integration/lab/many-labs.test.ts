/**
 * Many labs on one engine, for real: three `acklab run`s of one experiment and two `up --name`s
 * of one topology at the same time; ownership (`ps` and `down` act on your own labs); crash
 * reaping within 60 s of a SIGKILLed `up`, `acklab run` and test process, with no acklab command
 * in between; and malformed input refused with a position while nothing is created.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, labelFilter } from '../../../src/common/index.js';
import { listNodes, removeAllLabs } from '../../../src/lab/index.js';
import type { RunManifest, SweepSummary } from '../../../src/results/index.js';
import { CLI, OWNER, ROOT, SESSION, countLab, countOwned, labImages, runtime, testLab, waitFor } from './helpers.js';

const acklab = (args: string[], opts: { env?: Record<string, string>; timeout?: number } = {}) =>
  execa('node', [CLI, ...args], { reject: false, timeout: opts.timeout ?? 240_000, env: { NO_COLOR: '1', CI: 'true', ...opts.env } });

const work = mkdtempSync(join(tmpdir(), 'acklab-test-many-'));
const EXPERIMENT = `ml-exp-${SESSION}`;

const pairYaml = (name: string) => `name: ${name}
nodes:
  server: { kind: peer-server }
  client: { kind: peer-client, args: { server: server, interval: 200ms } }
`;

const experimentYaml = (duration: string) => `name: ${EXPERIMENT}
seed: 5
duration: ${duration}
topology:
  name: ${EXPERIMENT}
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server, interval: 200ms } }
`;

/** Containers and networks of the experiment's run labs (their names start with the experiment's). */
async function experimentLeftovers(): Promise<string[]> {
  const filter = [`${LABELS.managed}=true`, LABELS.lab];
  const containers = (await runtime.containers.list(filter)).filter((c) => c.labels[LABELS.lab]?.startsWith(EXPERIMENT));
  const networks = (await runtime.networks.list(filter)).filter((n) => n.labels[LABELS.lab]?.startsWith(EXPERIMENT));
  return [...containers.map((c) => c.name), ...networks.map((n) => n.name)];
}

/** The watchdog process guarding `parent` (its argv names the parent), if it still runs. */
function watchdogOf(parent: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('--parent');
    if (argv.some((a) => a.endsWith('watchdog-main.js')) && argv[i + 1] === String(parent)) return Number(entry);
  }
  return undefined;
}

let images: { node: string; shaper: string };
beforeAll(async () => {
  images = await labImages();
  await removeAllLabs(runtime, { owner: OWNER });
}, 300_000);

afterAll(async () => {
  await removeAllLabs(runtime, { owner: OWNER });
  rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('many labs at once', () => {
  it('three runs of one experiment and two ups of one topology in parallel all succeed, stay separate, and leave nothing', { timeout: 400_000 }, async () => {
    const experiment = join(work, 'exp.yaml');
    writeFileSync(experiment, experimentYaml('4s'));
    const topology = join(work, 'pair.yaml');
    writeFileSync(topology, pairYaml(`ml-pair-${SESSION}`));
    const [a, b] = [testLab('ml-a'), testLab('ml-b')];
    const outs = [1, 2, 3].map((i) => join(work, `sweep-${i}`));

    const results = await Promise.all([
      ...outs.map((out) => acklab(['run', experiment, '--out', out])),
      acklab(['up', '-q', '--name', a, topology]),
      acklab(['up', '-q', '--name', b, topology]),
    ]);
    for (const r of results) expect(r.exitCode, `${r.command}\n${r.stdout}\n${r.stderr}`).toBe(0);

    // Each sweep has its own run, in its own lab, with its own results.
    const labNames = new Set<string>();
    for (const out of outs) {
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as SweepSummary;
      expect(summary.runs.map((r) => [r.dir, r.status])).toEqual([['baseline-r1', 'ok']]);
      const peer = summary.runs[0]!.metrics!.peer!;
      expect(peer.updatesSent).toBeGreaterThan(5);
      expect(peer.acksReceived).toBe(peer.updatesSent);
      const manifest = JSON.parse(readFileSync(join(out, 'baseline-r1', 'manifest.json'), 'utf8')) as RunManifest & { topology: { name: string } };
      labNames.add(manifest.topology.name);
    }
    expect(labNames.size).toBe(3);
    expect(await experimentLeftovers()).toEqual([]);

    // The two instances of one topology: their own containers, networks and subnets, both running.
    const nodes = await Promise.all([a, b].map((lab) => listNodes(runtime, lab)));
    for (const n of nodes) expect(n.map((x) => [x.name, x.state])).toEqual([['client', 'running'], ['server', 'running']]);
    const nets = await Promise.all([a, b].map((lab) => runtime.networks.list(labelFilter({ lab }))));
    expect(nets.map((x) => x.length)).toEqual([1, 1]);
    expect(nets[0]![0]!.subnets[0]).not.toBe(nets[1]![0]!.subnets[0]);
    expect(nets.map((x) => x[0]!.name)).toEqual([`acklab-${a}.net`, `acklab-${b}.net`]);

    const ps = await acklab(['ps']);
    expect(ps.stdout).toMatch(new RegExp(`${a} +│ client`));
    expect(ps.stdout).toMatch(new RegExp(`${b} +│ client`));
    const dry = await acklab(['down', '--all', '--dry-run']);
    expect(dry.stdout.trim().split('\n')).toEqual([`would remove lab "${a}": 4 containers, 1 networks`, `would remove lab "${b}": 4 containers, 1 networks`]);
    expect((await countOwned()).containers).toHaveLength(8);
    const down = await acklab(['down', '--all']);
    expect(down.exitCode).toBe(0);
    expect(await countOwned()).toEqual({ containers: [], networks: [] });
  });

  it('a second up of a name held by a starting up is refused with a clear error, never a Docker one', { timeout: 180_000 }, async () => {
    const lab = testLab('ml-race');
    const topology = join(work, 'race.yaml');
    writeFileSync(topology, pairYaml(lab));
    const [first, second] = await Promise.all([acklab(['up', '-q', '--no-replace', topology]), acklab(['up', '-q', '--no-replace', topology])]);
    const ok = [first, second].filter((r) => r.exitCode === 0);
    const refused = [first, second].filter((r) => r.exitCode !== 0);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.stderr).toMatch(new RegExp(`^Error: lab "${lab}" is (in use by acklab pid \\d+ on .+|already up \\(run \\w+\\); \`acklab down ${lab}\` first), .*--name$`, 'm'));
    expect(refused[0]!.stderr).not.toMatch(/docker:|Conflict|Pool overlaps|not found/);
    expect((await listNodes(runtime, lab)).map((n) => n.state)).toEqual(['running', 'running']);
    expect((await acklab(['down', lab])).exitCode).toBe(0);
  });
});

describe('ownership', () => {
  const lab = testLab('ml-own');
  const other = { ACKLAB_OWNER: `itest-other-${SESSION}` };

  it('ps and down act on your own labs; another owner can neither list nor remove nor replace them', { timeout: 180_000 }, async () => {
    const topology = join(work, 'own.yaml');
    writeFileSync(topology, pairYaml(lab));
    expect((await acklab(['up', '-q', topology])).exitCode).toBe(0);

    const ps = await acklab(['ps'], { env: other });
    expect(ps.stdout).toContain(`no lab of yours (${other.ACKLAB_OWNER}) is running`);
    expect(ps.stdout).not.toContain(lab);
    const widened = await acklab(['ps', '--all-owners', lab], { env: other });
    expect(widened.stdout).toMatch(new RegExp(`${lab} +│ ${OWNER.replace(/[.]/g, '\\.')} +│ client`));

    const named = await acklab(['down', lab], { env: other });
    expect(named.exitCode).toBe(1);
    expect(named.stderr).toContain(`Error: lab "${lab}" belongs to ${OWNER}, not to you (${other.ACKLAB_OWNER}); acklab down removes only your own labs`);
    const bare = await acklab(['down'], { env: other });
    expect(bare.stdout).toBe(`no lab of yours (${other.ACKLAB_OWNER}) is running`);
    const all = await acklab(['down', '--all'], { env: other });
    expect(all.stdout).toBe(`no lab of yours (${other.ACKLAB_OWNER}) is running`);
    const replace = await acklab(['up', '-q', topology], { env: other });
    expect(replace.exitCode).toBe(1);
    expect(replace.stderr).toContain(`Error: lab "${lab}" is already running and belongs to ${OWNER} (you are ${other.ACKLAB_OWNER}); choose another lab name with --name`);
    const dry = await acklab(['down', '--all', '--all-owners', '--dry-run'], { env: other });
    expect(dry.stdout).toContain(`would remove lab "${lab}" (owner ${OWNER}): 4 containers, 1 networks`);
    expect(await countLab(lab)).toEqual({ containers: 4, networks: 1 });

    const mine = await acklab(['down']);
    expect(mine.stdout).toBe(`removed lab "${lab}": 4 containers, 1 networks`);
    expect(await countLab(lab)).toEqual({ containers: 0, networks: 0 });
  });
});

describe('crash reaping', () => {
  it('a finished up outlives its process and its watchdog', { timeout: 180_000 }, async () => {
    const lab = testLab('ml-stay');
    const topology = join(work, 'stay.yaml');
    writeFileSync(topology, pairYaml(lab));
    const up = acklab(['up', '-q', topology]);
    const pid = up.pid!;
    expect((await up).exitCode).toBe(0);
    await waitFor('the watchdog of the finished up to exit', async () => watchdogOf(pid) === undefined, 60_000);
    expect((await listNodes(runtime, lab)).map((n) => n.state)).toEqual(['running', 'running']);
    expect((await acklab(['down', lab])).exitCode).toBe(0);
  });

  it('a SIGKILLed acklab run leaves nothing within 60 s, with no acklab command in between', { timeout: 180_000 }, async () => {
    const experiment = join(work, 'long.yaml');
    writeFileSync(experiment, experimentYaml('120s'));
    const run = execa('node', [CLI, 'run', experiment, '--out', join(work, 'killed-run')], { reject: false, env: { CI: 'true' } });
    await waitFor(
      "the run's client to be running",
      async () => (await runtime.containers.list([...labelFilter({ role: 'node', owner: OWNER }), `${LABELS.node}=client`])).some((c) => c.labels[LABELS.lab]?.startsWith(EXPERIMENT) && c.running),
      120_000,
    );
    run.kill('SIGKILL');
    expect((await run).signal).toBe('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the killed run\'s lab to be gone', async () => (await experimentLeftovers()).length === 0, 60_000);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
  });

  it('a SIGKILLed test process (vitest and its worker, holding a lab) leaves nothing within 60 s', { timeout: 240_000 }, async () => {
    const lab = testLab('ml-vitest');
    const child = execa('npx', ['vitest', 'run', '--config', join(ROOT, 'test/fixtures/reaper/vitest.config.ts')], {
      cwd: ROOT,
      reject: false,
      detached: true,
      env: { ACKLAB_FIXTURE_LAB: lab, ACKLAB_FIXTURE_IMAGES: JSON.stringify(images) },
      all: true,
    });
    let output = '';
    child.all!.on('data', (b: Buffer) => (output += b.toString()));
    await waitFor('the fixture test to hold its lab', async () => {
      if (child.exitCode !== null && child.exitCode !== undefined) throw new Error(`the fixture vitest exited early:\n${output}`);
      return output.includes(`HOLDING ${lab}`);
    }, 180_000);
    expect((await countLab(lab)).containers).toBe(3);
    // The whole test run at once, as a CI job being cancelled: vitest, its worker, npx.
    process.kill(-child.pid!, 'SIGKILL');
    await child;
    const killedAt = Date.now();
    await waitFor('the killed test\'s lab to be gone', async () => {
      const left = await countLab(lab);
      return left.containers + left.networks === 0;
    }, 60_000);
    expect(Date.now() - killedAt).toBeLessThan(60_000);
  });
});

describe('bounded input: refused with a position, nothing created', () => {
  const bad = (file: string) => join(ROOT, 'test/fixtures/topologies/bad', file);
  const named = (file: string) => {
    const copy = join(work, file);
    writeFileSync(copy, readFileSync(bad(file), 'utf8').replace(/^name: .*$/m, `name: ${testLab('ml-bad')}`));
    return copy;
  };
  const zero = join(work, 'zero.yaml');
  const folder = join(work, 'folder.yaml');
  const oversized = join(work, 'oversized.yaml');

  beforeAll(() => {
    symlinkSync('/dev/zero', zero);
    mkdirSync(folder);
    writeFileSync(oversized, `name: ${testLab('ml-bad')}\n${'#'.repeat(80)}\n`.repeat(20_000));
  });

  const cases: [string, () => string, RegExp][] = [
    ['huge durations', () => named('huge-duration.yaml'), /huge-duration\.yaml:7:34: nodes\.c\.args\.interval: 99999999h is too long: at most 2147483647ms/],
    ['zero and negative durations', () => named('zero-and-negative-durations.yaml'), /zero-and-negative-durations\.yaml:7:34: nodes\.c\.args\.interval: must be at least 1ms \(got 0ms\)[\s\S]*7:48: nodes\.c\.args\.duration: "-5s" is not a duration/],
    ['a symlink to /dev/zero', () => zero, /zero\.yaml:1:1: not a regular file \(a character device\)/],
    ['a directory', () => folder, /folder\.yaml:1:1: not a regular file \(a directory\)/],
    ['an oversized file', () => oversized, /oversized\.yaml:1:1: the file is [\d.]+MiB, larger than the 1MiB acklab reads/],
    ['an alias bomb', () => named('alias-bomb.yaml'), /alias-bomb\.yaml:8:8: f\[0\]: YAML aliases expand the document to more than 100000 values/],
    ['bad env keys', () => named('bad-env-keys.yaml'), /bad-env-keys\.yaml:4:10: defaults\.env\["A=B"\]: "A=B" is not a variable name[\s\S]*8:12: nodes\.s\.env\[""\]: an environment variable needs a name/],
    ['a subnet too small', () => named('subnet-too-small.yaml'), /subnet-too-small\.yaml:4:18: networks\.lan\.subnet: network "lan" has 20 nodes, but subnet 10\.77\.9\.0\/28 has room for 13/],
    ['1000 nodes', () => named('too-many-nodes.yaml'), /too-many-nodes\.yaml:4:3: nodes: the lab has 1000 nodes; acklab starts at most 100 nodes in one lab/],
  ];

  it.each(cases)('up with %s exits 2 naming file:line:column, and nothing is created while it runs', { timeout: 60_000 }, async (_what, file, message) => {
    expect(await countOwned()).toEqual({ containers: [], networks: [] });
    const up = acklab(['up', file()]);
    const seen: number[] = [];
    while (up.exitCode === null || up.exitCode === undefined) {
      const owned = await countOwned();
      seen.push(owned.containers.length + owned.networks.length);
      await Promise.race([up, new Promise((r) => setTimeout(r, 20))]);
    }
    const r = await up;
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(seen.every((n) => n === 0)).toBe(true);
    expect(await countOwned()).toEqual({ containers: [], networks: [] });
    expect(await countLab(testLab('ml-bad'))).toEqual({ containers: 0, networks: 0 });
  });

  it('run refuses bad experiment files and an --out holding a sweep, creating nothing', { timeout: 60_000 }, async () => {
    const huge = join(work, 'huge-exp.yaml');
    writeFileSync(huge, experimentYaml('99999999h'));
    const out = join(work, 'never');
    for (const [file, message] of [
      [huge, /huge-exp\.yaml:3:11: duration: duration 99999999h is too long: at most 24h/],
      [zero, /zero\.yaml:1:1: not a regular file \(a character device\)/],
    ] as const) {
      const r = await acklab(['run', file, '--out', out]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    const sweep = join(work, 'sweep-1');
    const again = await acklab(['run', join(work, 'exp.yaml'), '--out', sweep]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain(`Error: --out ${sweep} already exists and is not empty (an earlier sweep?)`);
    const dry = await acklab(['run', '--dry-run', join(work, 'exp.yaml')]);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`experiment "${EXPERIMENT}" (seed 5): 1 condition × 1 repetition = 1 run of 4s, 1 at a time`);
    expect(await countOwned()).toEqual({ containers: [], networks: [] });
  });
});
