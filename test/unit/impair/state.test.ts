import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NO_IMPAIRMENT } from '../../../src/conditions/index.js';
import { parseIptablesSave, parseLinkDevices, parseNfqueueProc } from '../../../src/impair/index.js';

// Captured from a namespace on this kernel (iptables 1.8.9 nf_tables) with the builders' rules in place.
const SAVE = readFileSync(new URL('./fixtures/iptables-save.txt', import.meta.url), 'utf8');

describe('parseIptablesSave', () => {
  it('reads impairments (with queue and counters) and cuts back from the comments', () => {
    const s = parseIptablesSave(SAVE, 'a');
    expect(s).toMatchObject({ impairChain: true, partOutChain: true, partInChain: true });
    expect(s.impairments).toEqual([
      { node: 'a', to: 'b', impairment: { ...NO_IMPAIRMENT, delayMs: 50 }, queue: 100, packets: 16803, bytes: 530254 },
    ]);
    expect(s.cuts).toEqual([
      { from: 'b', to: 'a', style: 'reset', side: 'to', packets: 0 },
      { from: 'a', to: 'b', style: 'reset', side: 'from', packets: 0 },
    ]);
  });

  it('an empty ruleset has nothing in force', () => {
    expect(parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', 'a')).toEqual({
      impairChain: false, partOutChain: false, partInChain: false, impairments: [], cuts: [],
    });
  });
});

describe('kernel read-back parsers', () => {
  it('parses /proc/net/netfilter/nfnetlink_queue', () => {
    const m = parseNfqueueProc('  100  22462     3 2  65535     7     1        42  1\n  101  22470     0 1     0     0     0        0  1\n');
    expect([...m.keys()]).toEqual([100, 101]);
    expect(m.get(100)).toEqual({ queue: 100, portId: 22462, waiting: 3, queueDropped: 7, userDropped: 1 });
  });

  it('lists devices other than lo from ip -o link', () => {
    const text = `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\    link/loopback 00:00
2: eth0@if11: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\\    link/ether ae:5b
3: eth1@if14: <BROADCAST> mtu 1500\\    link/ether 02:42`;
    expect(parseLinkDevices(text)).toEqual(['eth0', 'eth1']);
  });
});
