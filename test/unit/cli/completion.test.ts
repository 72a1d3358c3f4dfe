/** Shell completion from the command definitions: scripts for bash and zsh, candidates from commander's verbs, options and arguments. */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pathCandidates } from '../../../src/cli/completion.js';
import { buildProgram, main } from '../../../src/cli/main.js';
import { captureCliOutput } from '../../support/cli-output.js';


const cli = captureCliOutput({ consoleLog: true });

const candidates = async (...words: string[]) => {
  await main(['complete', '--', ...words]);
  return cli.out.split('\n').filter((l) => l && !l.startsWith(':')).map((l) => l.split('\t')[0]);
};

describe('acklab completion', () => {
  it.each([
    ['bash', /acklab complete -- /],
    ['zsh', /#compdef acklab/],
  ])('%s: prints a script that asks acklab for candidates', async (shell, marker) => {
    await main(['completion', shell]);
    expect(cli.out).toMatch(marker);
    expect(process.exitCode ?? 0).toBe(0);
  });

  it('completes every verb the program defines (and help), nothing else', async () => {
    const verbs = buildProgram().commands.filter((c) => !(c as unknown as { _hidden: boolean })._hidden).map((c) => c.name());
    expect(verbs).toEqual(expect.arrayContaining(['up', 'impair', 'cp', 'kill', 'completion']));
    expect((await candidates('')).sort()).toEqual([...verbs, 'help'].sort());
  });

  it("completes a verb's own options, from its definition", async () => {
    expect(await candidates('impair', 'lab', 'n1', '--d')).toEqual(['--delay', '--distribution', '--delay-correlation', '--duplicate', '--dry-run']);
    expect(await candidates('logs', 'lab', 'n1', '--')).toEqual(expect.arrayContaining(['--follow', '--tail', '--since', '--timestamps']));
  });
});

describe('pathCandidates', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lists what extends the word: folders with a slash, hidden entries only when asked for', () => {
    dir = mkdtempSync(path.join(tmpdir(), 'acklab-compl-'));
    mkdirSync(path.join(dir, 'topologies'));
    writeFileSync(path.join(dir, 'a.yaml'), '');
    writeFileSync(path.join(dir, '.hidden'), '');
    expect(pathCandidates(`${dir}/`).sort()).toEqual([`${dir}/a.yaml`, `${dir}/topologies/`]);
    expect(pathCandidates(`${dir}/.h`)).toContain(`${dir}/.hidden`);
    expect(pathCandidates('/nonexistent/x')).toEqual([]);
  });
});
