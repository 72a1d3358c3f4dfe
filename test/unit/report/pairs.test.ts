/** The peer pairs table: both sides' counts side by side, and why they differ, in the terminal, report.md and report.html. */
import { describe, expect, it } from 'vitest';
import { pairsCells, pairsWorthShowing, renderMarkdownPairs, renderTerminalPairs, markdownTable } from '../../../src/report/index.js';
import { pairMetrics, pairRows, type PairNode, type RunMetrics, type SweepRun } from '../../../src/results/index.js';

const seedServer: PairNode = {
  name: 'tt-server',
  program: 'twisted-server',
  command: ['python3', '-u', '/opt/seed/peer.py', 'server', '0.0.0.0:8888'],
  exitCode: 0,
  events: [],
  stdout: 'Connected from x\nServer received <update>\nsendAck\nServer received <update><update>\nsendAck\n',
};
const seedClient: PairNode = {
  name: 'tt-client',
  program: 'twisted-client',
  command: ['python3', '-u', '/opt/seed/peer.py', 'client', 'tt-server:8888'],
  exitCode: 0,
  events: [],
  stdout: 'Client received <connection up>\nSending update\nClient received <Ack>\nSending update\nSending update\nClient received <Ack>\nReceived 3 acks\n',
};
const acklabServer: PairNode = { name: 'aa-server', program: 'peer-server', command: ['acklab-peer', 'server', '0.0.0.0:8888'], exitCode: 0, events: [{ event: 'update_received' }, { event: 'ack_sent' }] };
const acklabClient: PairNode = {
  name: 'aa-client',
  program: 'peer-client',
  command: ['acklab-peer', 'client', 'aa-server:8888'],
  exitCode: 0,
  events: [{ event: 'update_sent' }, { event: 'ack_received' }],
};

const run = (condition: string, pairs: RunMetrics['pairs']): SweepRun => ({
  dir: `${condition}-r1`,
  condition,
  repetition: 1,
  status: 'ok',
  metrics: { formatVersion: 1, condition, repetition: 1, status: 'ok', crashed: false, problems: [], peer: null, mcast: null, pairs },
});
const runs = [run('baseline', [pairMetrics(acklabClient, acklabServer)]), run('loss', [pairMetrics(seedClient, seedServer), pairMetrics(acklabClient, acklabServer)])];

describe('the peer pairs table', () => {
  it('one row per pair and condition: each side\'s counts, the seed\'s reads shown', () => {
    const { head, rows } = pairsCells(runs);
    expect(head).toEqual(['condition', 'client → server', 'updates sent', 'server got (reads)', 'acks sent', 'acks got', 'client counted']);
    expect(rows.map((r) => r.cells)).toEqual([
      ['baseline', 'acklab → acklab', '1', '1', '1', '1', '1'],
      ['loss', 'twisted → twisted', '3', '3 (2)', '2', '2', '3 (reads)'],
      ['loss', 'acklab → acklab', '1', '1', '1', '1', '1'],
    ]);
    expect(rows[1]!.why).toEqual([
      'the Twisted server sent 2 <Ack>s for 3 <update>s: one per read, and TCP put 2+ <update>s in 1 read (1 fewer acks)',
      'the Twisted client counts the <connection up> greeting as an ack (+1)',
    ]);
  });

  it('the terminal lists why, one line per difference; nothing at all for acklab-only runs whose counts match', () => {
    const text = renderTerminalPairs(runs);
    expect(text).toContain('why the counts differ:\n  loss, twisted → twisted: the Twisted server sent 2 <Ack>s');
    expect(text).not.toContain('baseline, acklab → acklab:');
    expect(pairsWorthShowing(pairRows([runs[0]!]))).toBe(false);
    expect(renderTerminalPairs([runs[0]!])).toBe('');
  });

  it('report.md: a table with a why column, <Ack> written as text', () => {
    const md = renderMarkdownPairs(runs, markdownTable);
    expect(md).toMatch(/^## Peer pairs: what each side counted/);
    expect(md).toContain('| loss | twisted → twisted | 3 | 3 (2) | 2 | 2 | 3 (reads) | the Twisted server sent 2 &lt;Ack&gt;s for 3 &lt;update&gt;s');
    expect(md).toContain('<br>the Twisted client counts the &lt;connection up&gt; greeting as an ack (+1) |');
  });
});
