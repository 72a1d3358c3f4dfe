/**
 * Running planned argv: against a node's namespace, or — for `--dry-run` — against an executor
 * that prints each command instead. Every failure says on which node, the exact argv and stderr.
 */
import { AcklabError } from '../common/index.js';
import type { NamespaceExecutor } from './sidecars.js';

/** argv as a copy-pasteable shell line (for dry runs and messages only; nothing is run through a shell). */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./*!-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function commandError(node: string, argv: readonly string[], r: { exitCode: number; stderr: string }): AcklabError {
  return new AcklabError(`on node "${node}": \`${quoteArgv(argv)}\` failed (exit ${r.exitCode}): ${r.stderr.trim()}`);
}

/** Runs each command in order; stops at the first failure unless `tolerant` (teardown of what may be absent). */
export async function runCommands(exec: NamespaceExecutor, cmds: readonly string[][], { tolerant = false } = {}): Promise<void> {
  for (const argv of cmds) {
    const r = await exec.run(argv);
    if (r.exitCode !== 0 && !tolerant) throw commandError(exec.node, argv, r);
  }
}

/** An executor that changes nothing: it prints `[node] argv` (and `… &` for a spawned helper) and succeeds. */
export function dryRunExecutor(node: string, log: (line: string) => void): NamespaceExecutor {
  return {
    node,
    run: async (argv) => {
      log(`[${node}] ${quoteArgv(argv)}`);
      return { exitCode: 0, stdout: '', stderr: '' };
    },
    spawn: async (argv) => log(`[${node}] ${quoteArgv(argv)} &`),
  };
}
