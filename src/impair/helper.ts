/**
 * argv for the userspace helper (`acklab-nfq`, docker/shaper/helper/acklab-nfq.c), one process
 * per NFQUEUE, i.e. per impaired destination of a node. It runs in the node's sidecar.
 */
import type { Impairment } from '../conditions/index.js';
import { HELPER_MARK } from './iptables.js';

export const HELPER_BIN = 'acklab-nfq';
export const HELPER_RUN_DIR = '/run/acklab-nfq';
/** Packets held at once per destination; like netem's default `limit 1000`, with room for 200 ms at line rate. */
export const HELPER_LIMIT = 10_000;

export const helperPidfile = (queue: number) => `${HELPER_RUN_DIR}/${queue}.pid`;
export const helperLogfile = (queue: number) => `${HELPER_RUN_DIR}/${queue}.log`;
/** The helper's counters (received=… lost=…), rewritten as it runs. */
export const helperStatsfile = (queue: number) => `${HELPER_RUN_DIR}/${queue}.stats`;

export function helperStart(queue: number, imp: Impairment, seed?: number): string[] {
  const argv = [
    HELPER_BIN,
    '--queue', String(queue),
    '--delay-us', String(Math.round(imp.delayMs * 1000)),
    '--jitter-us', String(Math.round(imp.jitterMs * 1000)),
    '--distribution', imp.distribution,
    '--loss', String(imp.lossPct),
    '--loss-corr', String(imp.lossCorrelationPct),
    '--duplicate', String(imp.duplicatePct),
    '--reorder', String(imp.reorderPct),
    '--corrupt', String(imp.corruptPct),
    '--limit', String(HELPER_LIMIT),
    '--mark', HELPER_MARK,
    '--pidfile', helperPidfile(queue),
    '--log', helperLogfile(queue),
  ];
  if (seed !== undefined) argv.push('--seed', String(seed));
  return argv;
}

/** Stops the helper gracefully: it releases every held packet, then exits (and removes its pidfile). */
export function helperStop(queue: number): string[] {
  return [HELPER_BIN, '--stop', helperPidfile(queue)];
}
