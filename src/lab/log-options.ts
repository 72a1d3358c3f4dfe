/** Options of a node's logs, as the library and `acklab logs` take them; `since` in every form a user writes. */
import { AcklabError, parseDuration, UnitError } from '../common/index.js';
import type { LogOptions } from '../runtime/index.js';

export interface NodeLogsOptions {
  /** Only the last N lines. */
  tail?: number;
  /** Only lines since then: a Date, epoch ms, an ISO time ("2025-05-01T10:00:00Z"), or a duration before now ("30s", "5m"). */
  since?: Date | number | string;
  /** Prefix every line with the engine's RFC 3339 timestamp. */
  timestamps?: boolean;
  /** Which stream (default both, interleaved as stored). */
  stream?: 'stdout' | 'stderr' | 'both';
}

/** `since` → epoch ms. Throws a UnitError naming the forms allowed. */
export function parseSince(since: Date | number | string, now = Date.now()): number {
  if (since instanceof Date) {
    if (Number.isNaN(since.getTime())) throw new UnitError('since: an invalid Date');
    return since.getTime();
  }
  if (typeof since === 'number') {
    if (!Number.isFinite(since) || since < 0) throw new UnitError(`since: ${since} is not a time (epoch ms)`);
    return since;
  }
  if (/^\s*\d+(\.\d+)?\s*(us|ms|s|m|h)\s*$/.test(since)) return now - parseDuration(since);
  const t = Date.parse(since);
  if (/^\d{4}-\d\d-\d\d/.test(since.trim()) && !Number.isNaN(t)) return t;
  throw new UnitError(`"${since}" is neither a duration before now ("30s", "5m", "1h") nor a time ("2025-05-01T10:00:00Z")`);
}

export function toLogOptions(options: NodeLogsOptions, now = Date.now()): LogOptions {
  const out: LogOptions = {};
  if (options.tail !== undefined) {
    if (!Number.isInteger(options.tail) || options.tail < 0) throw new AcklabError(`tail must be a whole number ≥ 0 (got ${options.tail})`, 2);
    out.tail = options.tail;
  }
  if (options.since !== undefined) out.sinceMs = parseSince(options.since, now);
  if (options.timestamps) out.timestamps = true;
  if (options.stream !== undefined) out.stream = options.stream;
  return out;
}
