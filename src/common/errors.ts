/**
 * Error types shared by the CLI and the library. Every error says what failed and where; the
 * CLI prints `Error: <message>` once and sets the exit code (see src/cli/main.ts).
 */

/** Bad command-line usage: the CLI prints the message and the usage text, exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly usage?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A user-facing failure with an exit code (default 1), keeping the underlying cause. */
export class AcklabError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AcklabError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
