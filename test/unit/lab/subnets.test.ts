import { describe, expect, it } from 'vitest';
import { chooseSubnets } from '../../../src/lab/index.js';
import { demux, parseListening } from '../../../src/runtime/index.js';

describe('chooseSubnets', () => {
  it('keeps user subnets and fills the rest with free /24s from the pool', () => {
    const got = chooseSubnets([{ name: 'a' }, { name: 'b', subnet: '10.210.1.0/24' }, { name: 'c' }], [{ network: 'bridge', subnet: '172.17.0.0/16' }], () => 0);
    expect(Object.fromEntries(got)).toEqual({ a: '10.210.0.0/24', b: '10.210.1.0/24', c: '10.210.2.0/24' });
  });

  it('skips subnets of existing networks, including wide and narrow ones', () => {
    const got = chooseSubnets([{ name: 'a' }], [
      { network: 'x', subnet: '10.210.0.0/23' },
      { network: 'y', subnet: '10.210.2.4/30' },
    ], () => 0);
    expect(got.get('a')).toBe('10.210.3.0/24');
  });

  it('starts looking at a random place in the pool, wrapping around past its end', () => {
    expect(chooseSubnets([{ name: 'a' }], [], () => 0.5).get('a')).toBe('10.230.0.0/24');
    const last = chooseSubnets([{ name: 'a' }, { name: 'b' }], [], () => 0.99999).get('b');
    expect(last).toBe('10.210.0.0/24');
  });

  it('refuses a user subnet that overlaps an existing network, naming it', () => {
    expect(() => chooseSubnets([{ name: 'lan', subnet: '172.17.5.0/24' }], [{ network: 'bridge', subnet: '172.17.0.0/16' }])).toThrow(
      'network "lan": subnet 172.17.5.0/24 overlaps the existing Docker network "bridge" (172.17.0.0/16)',
    );
  });
});

describe('runtime parsers', () => {
  it('parseListening finds LISTEN sockets in /proc/net/tcp and tcp6', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 00000000:22B8 00000000:0000 0A 00000000:00000000 00:00000000 00000000 10001        0 1 1 0000000000000000 100 0 0 10 0',
      '   1: 0300D20A:22B8 0200D20A:B3F8 01 00000000:00000000 00:00000000 00000000 10001        0 2 1 0000000000000000 20 4 30 10 -1',
      '   0: 00000000000000000000000000000000:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 3 1',
    ].join('\n');
    expect(parseListening(text)).toEqual(new Set([8888, 9000]));
  });

  it('demux joins stdout and stderr frames of a multiplexed log stream', () => {
    const frame = (type: number, s: string) => Buffer.concat([Buffer.from([type, 0, 0, 0]), Buffer.from(new Uint32Array([0]).buffer), Buffer.from(s)]);
    const f1 = frame(1, 'out\n');
    f1.writeUInt32BE(4, 4);
    const f2 = frame(2, 'err\n');
    f2.writeUInt32BE(4, 4);
    expect(demux(Buffer.concat([f1, f2]))).toBe('out\nerr\n');
    expect(demux(Buffer.from('plain tty text'))).toBe('plain tty text');
  });
});
