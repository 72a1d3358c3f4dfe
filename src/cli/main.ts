/**
 * `acklab` — the orchestrator's command line. This file only wires the verbs together: each verb
 * lives in its own file under src/cli/ and exports `register(program)`. Errors are caught once
 * here, printed as `Error: …`, and turned into an exit code:
 *
 *   0  ok
 *   1  the command was well-formed but failed, or a verdict did: no engine, the lab is not running,
 *      a node is unknown or not running, a check or verdict failed, `doctor` found a problem
 *   2  usage: an unknown verb or flag, a missing argument, a value that does not parse or breaks a
 *      rule, a missing or malformed file; nothing was changed
 *   130 interrupted (Ctrl-C); `exec` passes on the command's own status
 */
import { Command, CommanderError } from 'commander';
import { UsageError, errorMessage } from '../common/index.js';
import { addCompletion } from './completion.js';
import { acklabVersion } from './version.js';
import { verbs } from './verbs.js';

export function buildProgram(): Command {
  const program = new Command('acklab')
    .description('A Dockerized lab for distributed-systems experiments')
    .version(acklabVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run "acklab --help" for the verbs)')
    .exitOverride();
  for (const register of verbs) register(program);
  // A mistake prints its one-line reason and where to read more, not the whole help.
  for (const cmd of program.commands) cmd.showHelpAfterError(`(run "acklab ${cmd.name()} --help" for its usage)`);
  addCompletion(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander has already printed the help, the version, or the usage error itself.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`Error: ${err.message}\n`);
    if (err.usage) process.stderr.write(`${err.usage}\n`);
    return err.exitCode;
  }
  process.stderr.write(`Error: ${errorMessage(err)}\n`);
  if (process.env.ACKLAB_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  const code = (err as { exitCode?: unknown }).exitCode;
  return typeof code === 'number' && code > 0 ? code : 1;
}
