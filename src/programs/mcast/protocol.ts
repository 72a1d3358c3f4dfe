/**
 * acklab-mcast wire protocol: one JSON object per line. Every line is validated here; a malformed
 * line is rejected with a reason (logged by the caller) instead of crashing or corrupting the queue.
 *
 *   {"type":"hello","id":1,"count":10}          first line each way on a new link
 *   {"type":"ready","id":1}                     "all my links are up" (multicasting starts when all are ready)
 *   {"type":"msg","ts":7,"sender":1,"seq":3}    a multicast message (Lamport ts, sender id, per-sender seq)
 *   {"type":"ack","ts":9,"from":2,"sender":1,"seq":3}   peer 2 acknowledges message (1, 3)
 *   {"type":"bye","id":1}                       clean leave: everything this peer owes was sent before it
 *   {"type":"ping","id":1}                      "still here": sent while nothing else is, so silence means trouble
 */

export type WireMessage =
  | { type: 'hello'; id: number; count: number }
  | { type: 'ready'; id: number }
  | { type: 'msg'; ts: number; sender: number; seq: number }
  | { type: 'ack'; ts: number; from: number; sender: number; seq: number }
  | { type: 'bye'; id: number }
  | { type: 'ping'; id: number };

const FIELDS: Record<WireMessage['type'], readonly string[]> = {
  hello: ['id', 'count'],
  ready: ['id'],
  msg: ['ts', 'sender', 'seq'],
  ack: ['ts', 'from', 'sender', 'seq'],
  bye: ['id'],
  ping: ['id'],
};

export function encode(msg: WireMessage): string {
  return `${JSON.stringify(msg)}\n`;
}

export type DecodeResult = { ok: true; msg: WireMessage } | { ok: false; reason: string };

export function decode(line: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message}): ${preview(line)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: `not a JSON object: ${preview(line)}` };
  }
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string' || !(type in FIELDS)) {
    return { ok: false, reason: `field "type" must be one of ${Object.keys(FIELDS).join(', ')} (got ${JSON.stringify(type)})` };
  }
  for (const field of FIELDS[type as WireMessage['type']]) {
    const v = obj[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      return { ok: false, reason: `${type}: field "${field}" must be a non-negative integer (got ${JSON.stringify(v)})` };
    }
  }
  if ((type === 'msg' || type === 'ack') && (obj.seq as number) < 1) {
    return { ok: false, reason: `${type}: field "seq" starts at 1 (got ${obj.seq})` };
  }
  return { ok: true, msg: obj as unknown as WireMessage };
}

function preview(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
}
