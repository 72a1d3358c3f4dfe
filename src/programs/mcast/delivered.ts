/**
 * The delivered file: one JSON line per delivered message, in delivery order:
 *   {"lamport":7,"sender":1,"seq":3,"deliveredAt":1764091234567}
 * `lamport` is the message's Lamport timestamp, `deliveredAt` the wall-clock delivery time (epoch ms).
 */
import { readFileSync } from 'node:fs';

export interface DeliveredRecord {
  lamport: number;
  sender: number;
  seq: number;
  deliveredAt: number;
}

export function formatDeliveredRecord(r: DeliveredRecord): string {
  return `${JSON.stringify({ lamport: r.lamport, sender: r.sender, seq: r.seq, deliveredAt: r.deliveredAt })}\n`;
}

export class DeliveredFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = 'DeliveredFileError';
  }
}

/** Parses a delivered file's text; errors name the file, the line and the field. Blank lines are skipped. */
export function parseDelivered(text: string, file = '<input>'): DeliveredRecord[] {
  const records: DeliveredRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      throw new DeliveredFileError(file, i + 1, `not JSON (${(err as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new DeliveredFileError(file, i + 1, 'expected a JSON object');
    const o = obj as Record<string, unknown>;
    for (const field of ['lamport', 'sender', 'seq', 'deliveredAt'] as const) {
      const v = o[field];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        throw new DeliveredFileError(file, i + 1, `field "${field}" must be a non-negative integer (got ${JSON.stringify(v)}); a record is {"lamport","sender","seq","deliveredAt"}`);
      }
    }
    records.push({ lamport: o.lamport as number, sender: o.sender as number, seq: o.seq as number, deliveredAt: o.deliveredAt as number });
  });
  return records;
}

export function readDeliveredFile(path: string): DeliveredRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read delivered file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseDelivered(text, path);
}
