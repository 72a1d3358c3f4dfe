import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openEventSink } from '../../../src/programs/events.js';

describe('openEventSink', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acklab-test-events-'));

  it('writes one JSON object per line, ts first, with the injected clock', () => {
    const file = join(dir, 'a.ndjson');
    let t = 1000;
    const sink = openEventSink(file, () => t++);
    sink.emit({ event: 'update_sent', conn: 1, seq: 1 });
    sink.emit({ event: 'ack_received', conn: 1, seq: 1, rttMs: 0.5 });
    sink.close();
    sink.emit({ event: 'update_sent', conn: 1, seq: 2 }); // after close: dropped, not a crash
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toEqual([
      '{"ts":1000,"event":"update_sent","conn":1,"seq":1}',
      '{"ts":1001,"event":"ack_received","conn":1,"seq":1,"rttMs":0.5}',
      '',
    ]);
    expect(sink.toStdout).toBe(false);
  });

  it('truncates by default and appends in append mode (echo workers share one file)', () => {
    const file = join(dir, 'b.ndjson');
    for (const append of [false, false, true]) {
      const sink = openEventSink(file, () => 1, { append });
      sink.emit({ event: 'listening', program: 'acklab-echo', host: '127.0.0.1', port: 1 });
      sink.close();
    }
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('is a no-op without a target, and names the file it cannot open', () => {
    expect(() => openEventSink(undefined).emit({ event: 'peer_left', peer: 1 })).not.toThrow();
    expect(() => openEventSink(join(dir, 'missing-dir', 'x.ndjson'))).toThrow(/cannot open events file .*missing-dir.*ENOENT/);
  });

  it('"-" means stdout (human lines then move to stderr)', () => {
    const sink = openEventSink('-');
    expect(sink.toStdout).toBe(true);
    sink.close();
  });
});
