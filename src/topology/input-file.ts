/**
 * Reading an input file (a topology or an experiment) bounded, before any parsing: it must be a
 * regular file (not a directory, a device such as /dev/zero behind a symlink, or a FIFO that never
 * ends) of at most a configurable size, and UTF-8 text. The checks run on the opened descriptor,
 * so the file cannot be swapped between the check and the read.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { AcklabError, formatSize, parseSize, UsageError } from '../common/index.js';
import type { TopologyIssue } from './issues.js';

/** The default limit for an input file: 1 MiB (acklab's own files are a few KiB). */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** The environment variable that raises (or lowers) it, e.g. ACKLAB_MAX_FILE_SIZE=4MiB. */
export const MAX_FILE_SIZE_ENV = 'ACKLAB_MAX_FILE_SIZE';

/** The limit in force: ACKLAB_MAX_FILE_SIZE when set, else 1 MiB. */
export function maxFileBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_FILE_SIZE_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_MAX_FILE_BYTES;
  let bytes: number;
  try {
    bytes = parseSize(raw);
  } catch (err) {
    throw new UsageError(`${MAX_FILE_SIZE_ENV}: ${(err as Error).message}`);
  }
  if (bytes < 1024) throw new UsageError(`${MAX_FILE_SIZE_ENV} must be at least 1KiB (got "${raw}")`);
  return bytes;
}

/** An input file that cannot be read as text: the one problem, positioned at its start. */
export class InputFileError extends AcklabError {
  constructor(
    readonly issue: TopologyIssue,
    options?: { cause?: unknown },
  ) {
    super(`${issue.file}:${issue.line}:${issue.column}: ${issue.message}`, 2, options);
    this.name = 'InputFileError';
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

/** The file's text; throws InputFileError (at file:1:1) when it is not a regular UTF-8 file of at most `maxBytes`. */
export function readInputFileSync(file: string, options: { maxBytes?: number } = {}): string {
  const max = options.maxBytes ?? maxFileBytes();
  const problem = (message: string, cause?: unknown) =>
    new InputFileError({ file, line: 1, column: 1, path: '', message }, cause === undefined ? undefined : { cause });
  const tooLarge = (size: string) =>
    problem(`the file is ${size}, larger than the ${formatSize(max)} acklab reads (set ${MAX_FILE_SIZE_ENV}, e.g. ${MAX_FILE_SIZE_ENV}=4MiB, to raise it)`);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat below rejects it.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw problem(`cannot read the file: ${(err as Error).message}`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw problem(`not a regular file (${kindOf(st)}); give a YAML file`);
    if (st.size > max) throw tooLarge(formatSize(st.size));
    // Read at most max + 1 bytes: a file that grows after fstat is still refused, never read whole.
    const buf = Buffer.alloc(max + 1);
    let length = 0;
    while (length < buf.length) {
      const n = readSync(fd, buf, length, buf.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > max) throw tooLarge(`more than ${formatSize(max)}`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, length));
    } catch (err) {
      throw problem('the file is not UTF-8 text; give a YAML file', err);
    }
  } finally {
    closeSync(fd);
  }
}
