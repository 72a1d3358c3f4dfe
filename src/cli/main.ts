/**
 * `acklab` — the orchestrator's command line. This file only wires the verbs together: each verb
 * lives in its own file under src/cli/ and exports `register(program)`. Errors are caught once
 * here, printed as `Error: …`, and turned into an exit code.
 */
import { Command, CommanderError } from 'commander';
import { UsageError, errorMessage } from '../common/index.js';
import { verbs } from './verbs.js';

export function buildProgram(): Command {
  const program = new Command('acklab')
    .description('A Dockerized lab for distributed-systems experiments')
    .showHelpAfterError()
    .exitOverride();
  for (const register of verbs) register(program);
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
    // Commander has already printed help or the usage error itself.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2;
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
