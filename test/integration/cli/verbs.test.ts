/**
 * The CLI's rules verb by verb on a real lab: `--json` (parsed and checked against the documented
 * shapes in src/cli/json-shapes.ts), exit 0 when a verb does its job and 1 when the lab, the node or
 * its state says no (a lab that is not running, a node it does not have, an exited node named as
 * exited), `cp` out of an exited node, `logs --timestamps --since`, and the process-fault verbs.
 * Usage errors (exit 2) need no engine: test/unit/cli/usage.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conditionsShape, doctorShape, psShape, resultsShape, upShape } from '../../../src/cli/json-shapes.js';
import { CLI, labImages, removeTestLabs, testLab, topologyCopy, waitFor } from '../lab/helpers.js';

const LAB = testLab('itest-verbs');
const GONE = testLab('itest-no-such-lab');
const EXPERIMENT = testLab('itest-verbs-run');
let tmp: string;

const acklab = async (args: string[], timeout = 120_000) => {
  const r = await execa('node', [CLI, ...args], { reject: false, timeout, env: { NO_COLOR: '1', CI: 'true' } });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

const TOPOLOGY = `
name: ${LAB}
nodes:
  server: { kind: peer-server }
  client: { kind: peer-client, args: { server: server, interval: 200ms } }
  done:
    kind: custom
    args:
      command: "echo finished > /home/acklab/done.txt; mkdir -p out/sub; echo x > out/sub/x.txt; echo bye"
`;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'acklab-verbs-'));
  await labImages();
  await removeTestLabs([LAB, GONE]);
}, 300_000);

afterAll(async () => {
  await removeTestLabs([LAB, GONE]);
  // the experiment's labs are named after it and removed by `run` itself; this catches a crash
  const { dockerRuntime } = await import('../../../src/runtime/index.js');
  const { labelFilter, LABELS } = await import('../../../src/common/index.js');
  const rt = dockerRuntime();
  for (const c of await rt.containers.list(labelFilter({}))) if (c.labels[LABELS.lab]?.startsWith(EXPERIMENT)) await rt.containers.remove(c.id);
  for (const n of await rt.networks.list(labelFilter({}))) if (n.labels[LABELS.lab]?.startsWith(EXPERIMENT)) await rt.networks.remove(n.id);
  rmSync(tmp, { recursive: true, force: true });
}, 120_000);

describe('on a running lab', () => {
  it('up --json: the lab, its run id and every node, in the documented shape', async () => {
    const r = await acklab(['up', topologyCopy({ yaml: TOPOLOGY }, LAB), '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('acklab up: '); // progress goes to stderr, never into the JSON
    const doc = upShape.parse(JSON.parse(r.stdout));
    expect(doc.lab).toBe(LAB);
    expect(doc.nodes.map((n) => n.name).sort()).toEqual(['client', 'done', 'server']);
    expect(doc.nodes.find((n) => n.name === 'server')?.addresses.net).toMatch(/^10\.\d+\.\d+\.\d+$/);
  }, 180_000);

  it('ps LAB --json: running and exited nodes, the exited one with its exit code', async () => {
    await waitFor('"done" to exit', async () => JSON.parse((await acklab(['ps', LAB, '--json'])).stdout).nodes.some((n: { name: string; running: boolean }) => n.name === 'done' && !n.running));
    const r = await acklab(['ps', LAB, '--json']);
    expect(r.exitCode).toBe(0);
    const doc = psShape.parse(JSON.parse(r.stdout));
    expect(doc.nodes.map((n) => [n.name, n.state, n.exitCode])).toEqual([
      ['client', 'running', 0],
      ['done', 'exited (0)', 0],
      ['server', 'running', 0],
    ]);
  });

  it('logs --timestamps --tail, --since, and the logs of an exited node', async () => {
    await waitFor('acks', async () => (await acklab(['logs', LAB, 'client'])).stdout.includes('Client received <Ack>'));
    const stamped = await acklab(['logs', LAB, 'client', '--timestamps', '--tail', '3']);
    expect(stamped.exitCode).toBe(0);
    const lines = stamped.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);
    const all = (await acklab(['logs', LAB, 'client'])).stdout.split('\n').length;
    const recent = (await acklab(['logs', LAB, 'client', '--since', '1s'])).stdout.split('\n').length;
    expect(recent).toBeLessThan(all);
    expect((await acklab(['logs', LAB, 'client', '--since', '2000-01-01T00:00:00Z'])).stdout.split('\n').length).toBeGreaterThanOrEqual(all);
    expect((await acklab(['logs', LAB, 'done'])).stdout).toBe('bye');
  }, 60_000);

  it('an exited node is named as exited (exit 1), with how to go on', async () => {
    const impair = await acklab(['impair', LAB, 'done', '--delay', '10ms']);
    expect(impair.exitCode).toBe(1);
    expect(impair.stderr).toBe(`Error: node "done" of lab "${LAB}" is exited (0): impair needs it running (\`acklab start ${LAB} done\` runs it again)`);
    const towards = await acklab(['impair', LAB, 'client', '--to', 'done', '--delay', '10ms']);
    expect(towards.exitCode).toBe(1);
    expect(towards.stderr).toContain(`node "done" of lab "${LAB}" is exited (0)`);
    const exec = await acklab(['exec', LAB, 'done', '--', 'ls']);
    expect(exec.exitCode).toBe(1);
    expect(exec.stderr).toContain(`its files: acklab cp ${LAB} done:PATH DEST`);
    const part = await acklab(['partition', LAB, 'done', 'server']);
    expect(part.exitCode).toBe(1);
    expect(part.stderr).toContain('is exited (0): partition needs it running');
    const heal = await acklab(['heal', LAB, 'done']);
    expect(heal.exitCode).toBe(1);
    expect(heal.stderr).toContain(`is exited (0): its own rules went with it; \`acklab heal ${LAB}\` removes every other rule`);
  });

  it('cp copies a file and a folder out of the exited node (like docker cp), or a tar to stdout', async () => {
    const file = await acklab(['cp', LAB, 'done:/home/acklab/done.txt', path.join(tmp, 'copied.txt')]);
    expect(file.exitCode, file.stderr).toBe(0);
    expect(readFileSync(path.join(tmp, 'copied.txt'), 'utf8')).toBe('finished\n');
    const dir = await acklab(['cp', LAB, 'done:out', tmp]); // relative to the node's working directory
    expect(dir.exitCode, dir.stderr).toBe(0);
    expect(readFileSync(path.join(tmp, 'out/sub/x.txt'), 'utf8')).toBe('x\n');
    const tar = await execa('sh', ['-c', `node ${CLI} cp ${LAB} done:done.txt - | tar -xO`]);
    expect(tar.stdout).toBe('finished');
    const missing = await acklab(['cp', LAB, 'done:/nope', tmp]);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain(`node "done" of lab "${LAB}" has no /nope`);
  });

  it('impair, then conditions --json: what is in force, in the documented shape', async () => {
    const impair = await acklab(['impair', LAB, 'client', '--to', 'server', '--delay', '30ms', '--loss', '1%']);
    expect(impair.exitCode, impair.stderr).toBe(0);
    const r = await acklab(['conditions', LAB, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = conditionsShape.parse(JSON.parse(r.stdout));
    expect(doc.healthy).toBe(true);
    const client = doc.nodes.find((n) => n.node === 'client');
    expect(client?.impairments.map((i) => [i.to, i.impairment.delayMs, i.impairment.lossPct])).toEqual([['server', 30, 1]]);
    expect((await acklab(['heal', LAB])).exitCode).toBe(0);
  }, 60_000);

  it('pause, resume, kill, start, restart and stop a node, each printing its state after', async () => {
    const steps: [string[], number, RegExp][] = [
      [['pause', LAB, 'client'], 0, /^paused client of lab ".*": now paused$/],
      [['resume', LAB, 'client'], 0, /now running$/],
      [['kill', LAB, 'client'], 0, /^killed client .*: now exited \(137\)$/],
      [['kill', LAB, 'client'], 1, /is exited \(exit code 137\); kill needs it running/],
      [['start', LAB, 'client'], 0, /^started client .*: now running$/],
      [['restart', LAB, 'server', '--grace', '2s'], 0, /^restarted server .*: now running$/],
      [['stop', LAB, 'client', '--grace', '2s'], 0, /^stopped client .*: now exited \(\d+\)$/],
      [['stop', LAB, 'nobody'], 1, new RegExp(`lab "${LAB}" has no node "nobody"; its nodes: client \\(exited \\(\\d+\\)\\), done \\(exited \\(0\\)\\), server`)],
    ];
    for (const [args, code, message] of steps) {
      const r = await acklab(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect((code === 0 ? r.stdout : r.stderr).trim(), args.join(' ')).toMatch(message);
    }
  }, 120_000);

  it('down removes it (exit 0)', async () => {
    const r = await acklab(['down', LAB]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`removed lab "${LAB}"`);
  });
});

describe('a lab that is not running: exit 1 on every lab verb', () => {
  it.each([
    ['logs', GONE, 'n1'],
    ['exec', GONE, 'n1', '--', 'true'],
    ['cp', GONE, 'n1:/x', '.'],
    ['kill', GONE, 'n1'],
    ['stop', GONE, 'n1'],
    ['start', GONE, 'n1'],
    ['restart', GONE, 'n1'],
    ['pause', GONE, 'n1'],
    ['resume', GONE, 'n1'],
    ['impair', GONE, 'n1', '--delay', '5ms'],
    ['partition', GONE, 'n1', 'n2'],
    ['heal', GONE],
    ['conditions', GONE],
  ])('%s', async (...args) => {
    const r = await acklab(args);
    expect(r.stderr).toMatch(new RegExp(`^Error: no lab named "${GONE}" is running; `));
    expect(r.exitCode).toBe(1);
  });

  it('ps --json of it: no nodes (exit 0)', async () => {
    const r = await acklab(['ps', GONE, '--json']);
    expect(r.exitCode).toBe(0);
    expect(psShape.parse(JSON.parse(r.stdout)).nodes).toEqual([]);
  });
});

describe('doctor and run', () => {
  it('doctor --json: every check, in the documented shape; exit 0 when the lab can run here', async () => {
    const r = await acklab(['doctor', '--json']);
    const doc = doctorShape.parse(JSON.parse(r.stdout));
    expect(r.exitCode).toBe(doc.ok ? 0 : 1);
    expect(doc.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['engine', 'network conditions backend']));
  }, 120_000);

  it('run --json --junit: the results document and one JUnit test case per run and check (exit 0 when all pass)', async () => {
    const file = path.join(tmp, 'experiment.yaml');
    writeFileSync(
      file,
      `name: ${EXPERIMENT}
seed: 1
duration: 4s
topology:
  name: ${EXPERIMENT}
  nodes:
    server: { kind: peer-server }
    client: { kind: peer-client, args: { server: server, interval: 200ms, duration: 3s } }
conditions:
  - name: baseline
  - name: slow
    links: [{ from: client, to: server, delay: 20ms }]
`,
    );
    const junit = path.join(tmp, 'junit.xml');
    const r = await acklab(['run', file, '--out', path.join(tmp, 'sweep'), '--parallel', '2', '--json', '--junit', junit], 240_000);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = resultsShape.parse(JSON.parse(r.stdout));
    expect(doc).toMatchObject({ kind: 'acklab-results', experiment: EXPERIMENT, verdict: 'pass', dir: path.join(tmp, 'sweep') });
    expect(doc.runs.map((x) => x.dir)).toEqual(['baseline-r1', 'slow-r1']);
    expect(r.stderr).toContain('verdict: PASS'); // the table and verdicts go to stderr with --json
    const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(readFileSync(junit, 'utf8')) as {
      testsuites: { tests: string; failures: string; errors: string; testsuite: { name: string; testcase: { name: string }[] }[] };
    };
    expect(xml.testsuites).toMatchObject({ failures: '0', errors: '0' });
    expect(xml.testsuites.testsuite.map((s) => s.name)).toEqual([`${EXPERIMENT}/baseline-r1`, `${EXPERIMENT}/slow-r1`]);
    expect(xml.testsuites.testsuite[0]!.testcase.map((t) => t.name)).toEqual(doc.runs[0]!.verdict!.checks.map((c) => c.name));
  }, 300_000);
});
