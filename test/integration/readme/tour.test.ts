/**
 * The README's 2-minute tour, followed literally: its ```sh block is read from README.md (not
 * copied here), and every command runs in order with the built CLI against real containers. Each
 * must exit 0 and print every "quoted" phrase of its comment — the output the README promises.
 * Only the lab's name changes (a name of this test session, so it never meets another lab on the
 * engine), and the commands run in a scratch folder holding the lab/ files the tour names (the
 * experiments and the implementations they build).
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, labImages, removeTestLabs, testLab } from '../lab/helpers.js';

export interface TourStep {
  /** The command as the README writes it. */
  command: string;
  /** The quoted phrases of its comment: what it must print. */
  promises: string[];
}

/** The commands of the first ```sh block after "## A 2-minute tour", each with its promises. */
export function tourSteps(readme: string): TourStep[] {
  const section = readme.slice(readme.indexOf('## A 2-minute tour'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const hash = line.search(/\s#\s/);
      const command = (hash < 0 ? line : line.slice(0, hash)).trim();
      const comment = hash < 0 ? '' : line.slice(hash);
      return { command, promises: [...comment.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
    });
}

const LAB = testLab('tour');
let work: string;

beforeAll(async () => {
  await labImages();
  await removeTestLabs([LAB]);
  work = mkdtempSync(path.join(tmpdir(), 'acklab-tour-'));
  mkdirSync(path.join(work, 'lab/topologies'), { recursive: true });
  const topology = readFileSync(path.join(ROOT, 'lab/topologies/client-server.yaml'), 'utf8');
  writeFileSync(path.join(work, 'lab/topologies/client-server.yaml'), topology.replace(/^name: client-server$/m, `name: ${LAB}`));
  for (const dir of ['experiments', 'examples']) cpSync(path.join(ROOT, 'lab', dir), path.join(work, 'lab', dir), { recursive: true });
}, 300_000);

afterAll(async () => {
  await removeTestLabs([LAB]);
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe('README: a 2-minute tour', () => {
  const steps = tourSteps(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

  it('has the tour: acklab commands, each promising some output', () => {
    expect(steps.length).toBeGreaterThanOrEqual(10);
    for (const s of steps) expect(s.command).toMatch(/^npx acklab /);
    expect(steps.filter((s) => s.promises.length === 0)).toEqual([]);
  });

  it('works when followed literally, command by command', async () => {
    for (const step of steps) {
      // the lab's name, not the file's: lab/topologies/client-server.yaml stays as written
      const words = step.command.replace(/^npx acklab /, '').replace(/\bclient-server\b(?!\.yaml)/g, LAB).split(/\s+/);
      const r = await execa('node', [CLI, ...words], { cwd: work, reject: false, all: true, timeout: 300_000, env: { CI: 'true', NO_COLOR: '1' } });
      const shown = `$ ${step.command}\n${String(r.all)}`;
      expect(r.exitCode, shown).toBe(0);
      for (const promise of step.promises) expect(String(r.all), `${shown}\n(the README promises "${promise}")`).toContain(promise);
    }
  }, 600_000);
});
