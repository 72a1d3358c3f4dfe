/**
 * What the CLI prints while a test calls `main([...])` in-process: stdout and stderr (and, when
 * asked, console.log) are collected per test, and `process.exitCode` is
 * reset before and after each one. Call it at the top of a file or describe block.
 */
import { afterEach, beforeEach, vi } from 'vitest';

export interface CliOutput {
  out: string;
  err: string;
}

/** `consoleLog`: collect console.log into `out` as well. */
export function captureCliOutput({ consoleLog = false } = {}): CliOutput {
  const captured = { out: '', err: '' };
  beforeEach(() => {
    captured.out = '';
    captured.err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((captured.out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((captured.err += String(s)), true));
    if (consoleLog) vi.spyOn(console, 'log').mockImplementation((...s: unknown[]) => void (captured.out += `${s.join(' ')}\n`));
    process.exitCode = undefined;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return captured;
}
