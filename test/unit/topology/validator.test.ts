import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadTopology, parseTopology, TopologyError } from '../../../src/topology/index.js';

const root = join(import.meta.dirname, '../../..');
const badDir = join(root, 'test/fixtures/topologies/bad');
const bad = readdirSync(badDir).filter((f) => f.endsWith('.yaml')).sort();
const examplesDir = join(root, 'lab/topologies');
const examples = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml')).sort();

function problems(file: string): string[] {
  try {
    parseTopology(readFileSync(join(badDir, file), 'utf8'), `bad/${file}`);
  } catch (err) {
    if (err instanceof TopologyError) return err.issues.map(formatIssue);
    throw err;
  }
  return [];
}

describe('malformed topologies', () => {
  it('ships at least 20 malformed fixtures, each with its expected messages', () => {
    expect(bad.length).toBeGreaterThanOrEqual(20);
    for (const f of bad) expect(readdirSync(badDir)).toContain(f.replace(/\.yaml$/, '.expected'));
  });

  it.each(bad)('%s is rejected with exactly the expected messages', (file) => {
    const expected = readFileSync(join(badDir, file.replace(/\.yaml$/, '.expected')), 'utf8').trim().split('\n');
    expect(problems(file)).toEqual(expected);
  });

  it('every message names file:line:column', () => {
    for (const f of bad) for (const p of problems(f)) expect(p).toMatch(new RegExp(`^bad/${f}:\\d+:\\d+: `));
  });

  it('collects every problem in a file, not just the first', () => {
    expect(problems('many-problems.yaml')).toHaveLength(4);
  });

  it('the error message lists all problems and exits with a usage code', () => {
    try {
      parseTopology('name: x\nnodes:\n  a: { kind: nope }\n  b: { kind: echo, args: { port: 0 } }\n', 'x.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TopologyError);
      expect((err as TopologyError).message).toContain('topology has 2 problems');
      expect((err as TopologyError).message).toContain('x.yaml:3:14: nodes.a.kind: unknown kind "nope"');
      expect((err as TopologyError).exitCode).toBe(2);
    }
  });

  it('a missing file is a clear error', async () => {
    await expect(loadTopology('/nonexistent/topo.yaml')).rejects.toThrow(/\/nonexistent\/topo.yaml:1:1: cannot read the file: ENOENT/);
  });
});

describe('example topologies', () => {
  it('includes the examples users copy', () => {
    expect(examples).toEqual(expect.arrayContaining(['echo.yaml', 'client-server.yaml', 'mcast3.yaml', 'mcast5.yaml', 'two-networks.yaml']));
  });

  it.each(examples)('%s is valid', async (file) => {
    const t = await loadTopology(join(examplesDir, file));
    expect(t.nodes.length).toBeGreaterThan(0);
    expect(t.stages.flat().sort()).toEqual(t.nodes.map((n) => n.name).sort());
  });
});
