/**
 * Docker's multiplexed (non-TTY) stream format: frames of [stream, 0, 0, 0, size u32 BE, payload],
 * stream 1 = stdout, 2 = stderr. The one demultiplexer for buffers (logs); streams go through
 * dockerode's modem.demuxStream, which implements the same format.
 */

/** Frames → text per stream. A buffer that is not multiplexed (a TTY) is all stdout. */
export function demuxFrames(buf: Buffer): { stdout: string; stderr: string } {
  if (!Buffer.isBuffer(buf)) return { stdout: String(buf ?? ''), stderr: '' };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    const size = buf.readUInt32BE(i + 4);
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return { stdout: buf.toString('utf8'), stderr: '' };
    (type === 2 ? err : out).push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Frames → one text, in the order the engine stored them (stdout and stderr interleaved). */
export function demux(buf: Buffer): string {
  if (!Buffer.isBuffer(buf)) return String(buf ?? '');
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const type = buf[i]!;
    const size = buf.readUInt32BE(i + 4);
    if (type > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) return buf.toString('utf8');
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString('utf8');
}

/** Ports in LISTEN state (st 0A) in /proc/net/tcp{,6} text. */
export function parseListening(text: string): Set<number> {
  const ports = new Set<number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && f[1]?.includes(':')) ports.add(parseInt(f[1].split(':').pop()!, 16));
  }
  return ports;
}
