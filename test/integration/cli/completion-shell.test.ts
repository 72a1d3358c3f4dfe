/**
 * `acklab completion bash` in a real bash with bash-completion (which `make test` installs): TAB on
 * a verb prefix, a file argument and a flag prefix gives what the command definitions say. The
 * script calls `acklab` by name, so a launcher for the built CLI is put first on PATH.
 */
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT } from '../lab/helpers.js';

const BASH_COMPLETION = '/usr/share/bash-completion/bash_completion';
const available = existsSync(BASH_COMPLETION);
if (!available) console.warn(`skipping the bash completion test: ${BASH_COMPLETION} is missing (apt-get install bash-completion; make test installs it)`);

let bin: string;
beforeAll(() => {
  bin = mkdtempSync(path.join(tmpdir(), 'acklab-bin-'));
  writeFileSync(path.join(bin, 'acklab'), `#!/bin/sh\nexec node ${CLI} "$@"\n`);
  chmodSync(path.join(bin, 'acklab'), 0o755);
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** What TAB offers after `words` (the last one is being completed). */
async function tab(...words: string[]): Promise<string[]> {
  const script = `
. ${BASH_COMPLETION}
source <(acklab completion bash)
COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}
COMP_LINE="${words.join(' ')}"; COMP_POINT=\${#COMP_LINE}
__acklab_complete 2>/dev/null
printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await execa('bash', ['-c', script], { cwd: ROOT, env: { PATH: `${bin}:${process.env.PATH}` } });
  return r.stdout.split('\n').filter(Boolean);
}

describe.skipIf(!available)('bash completion', () => {
  it('completes verbs, paths for a file argument, and a verb\'s own flags', async () => {
    expect(await tab('acklab', 'imp')).toEqual(['impair']);
    expect(await tab('acklab', 'up', 'lab/to')).toEqual(['lab/topologies/']);
    const mcast = readdirSync(path.join(ROOT, 'lab/topologies')).filter((f) => f.startsWith('mc')).map((f) => `lab/topologies/${f}`);
    expect(mcast.length).toBeGreaterThanOrEqual(2);
    expect((await tab('acklab', 'up', 'lab/topologies/mc')).sort()).toEqual(mcast.sort());
    expect(await tab('acklab', 'logs', 'lab', 'n1', '--ti')).toEqual(['--timestamps']);
  }, 60_000);
});
