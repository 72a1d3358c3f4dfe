/**
 * `--log FILE`: one JSON line per record (server: per update received; client: per ack received).
 * The seed's factory opened a file named `log` on start and closed it on stop but never wrote to it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface RecordLog {
  write(record: Record<string, unknown>): void;
  close(): void;
}

export function openRecordLog(path: string | undefined, clock: () => number = Date.now): RecordLog {
  if (path === undefined) return { write() {}, close() {} };
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw new Error(`cannot open log file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let open = true;
  return {
    write(record) {
      if (open) writeSync(fd, `${JSON.stringify({ ts: clock(), ...record })}\n`);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
