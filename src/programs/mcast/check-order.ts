/**
 * The order checker: every peer must deliver the same sequence, each message exactly once, in
 * increasing (Lamport ts, sender) order. On failure it names the FIRST divergence, which is where a
 * student looks first.
 */
import type { DeliveredRecord } from './delivered.js';
import { readDeliveredFile } from './delivered.js';

export interface DeliveredSequence {
  /** File name or peer label used in messages. */
  name: string;
  records: DeliveredRecord[];
}

export interface CheckOrderOptions {
  /** Each sequence must hold exactly this many deliveries (e.g. count × peers). */
  expected?: number;
}

export interface CheckOrderResult {
  ok: boolean;
  /** Deliveries in the reference (first) sequence. */
  length: number;
  /** Human-readable problems, the first divergence first. Empty when ok. */
  problems: string[];
}

const fmt = (r: DeliveredRecord) => `(lamport=${r.lamport}, sender=${r.sender}, seq=${r.seq})`;

export function checkOrder(sequences: DeliveredSequence[], options: CheckOrderOptions = {}): CheckOrderResult {
  const problems: string[] = [];
  if (sequences.length === 0) return { ok: false, length: 0, problems: ['no delivered sequences given'] };

  for (const { name, records } of sequences) {
    const seen = new Map<string, number>();
    records.forEach((r, i) => {
      const key = `${r.sender}:${r.seq}`;
      const first = seen.get(key);
      if (first !== undefined) problems.push(`${name}: message (sender=${r.sender}, seq=${r.seq}) delivered twice, at positions ${first + 1} and ${i + 1}`);
      else seen.set(key, i);
      const prev = records[i - 1];
      if (prev && (r.lamport < prev.lamport || (r.lamport === prev.lamport && r.sender <= prev.sender))) {
        problems.push(`${name}: position ${i + 1} ${fmt(r)} is not after position ${i} ${fmt(prev)} in (timestamp, sender) order`);
      }
    });
    if (options.expected !== undefined && records.length !== options.expected) {
      problems.push(`${name}: ${records.length} deliveries, expected ${options.expected}`);
    }
  }

  const divergences: string[] = [];
  const [ref, ...others] = sequences as [DeliveredSequence, ...DeliveredSequence[]];
  for (const other of others) {
    const n = Math.max(ref.records.length, other.records.length);
    for (let i = 0; i < n; i++) {
      const a = ref.records[i];
      const b = other.records[i];
      if (a && b && a.sender === b.sender && a.seq === b.seq && a.lamport === b.lamport) continue;
      const describe = (s: DeliveredSequence, r: DeliveredRecord | undefined) =>
        r ? `${s.name} has ${fmt(r)}` : `${s.name} has nothing (it ends after ${s.records.length} deliveries)`;
      divergences.push(`first divergence at position ${i + 1}: ${describe(ref, a)} but ${describe(other, b)}`);
      break;
    }
  }
  // The first divergence between files is the headline, so it comes first.
  const all = [...divergences, ...problems];
  return { ok: all.length === 0, length: ref.records.length, problems: all };
}

/** Reads delivered files and checks them; file errors (bad JSON, missing field) throw with file:line. */
export function checkOrderFiles(files: string[], options: CheckOrderOptions = {}): CheckOrderResult {
  return checkOrder(
    files.map((name) => ({ name, records: readDeliveredFile(name) })),
    options,
  );
}
