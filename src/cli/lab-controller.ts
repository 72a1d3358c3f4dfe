/** What the impair / partition / heal / conditions verbs share: the lab's controller, and the table of what is in force. */
import Table from 'cli-table3';
import { MAX_TIMER_MS, UsageError, formatDuration, formatRate, parseDuration } from '../common/index.js';
import { describeImpairment } from '../conditions/index.js';
import type { Backend, ImpairController, LabConditions } from '../impair/index.js';
import { engineRuntime } from './engine.js';
import { loadImages, loadImpair } from './load.js';

/** The impairment backends (src/impair/model.ts), named here so that checking the flag loads nothing. */
const BACKENDS: readonly Backend[] = ['netem', 'userspace'];

export interface ControllerFlags {
  dryRun?: boolean;
  backend?: string;
}

export function parseBackend(value: string | undefined): Backend | undefined {
  if (value === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')} (got "${value}")`);
  return value as Backend;
}

/**
 * Runs `fn` with the lab's controller, then closes its control streams (the conditions stay in
 * force, held by the nodes' agents). The shaper image is built or found only when a sidecar is made.
 */
export async function withLabController<T>(lab: string, flags: ControllerFlags, fn: (ctl: ImpairController) => Promise<T>): Promise<T> {
  const backend = parseBackend(flags.backend);
  const { openController } = await loadImpair();
  const ctl = await openController(await engineRuntime(), lab, {
    shaperImage: async () => (await (await loadImages()).ensureImages({ log: () => {} })).shaper,
    dryRun: flags.dryRun ?? false,
    ...(backend ? { backend } : {}),
  });
  try {
    return await fn(ctl);
  } finally {
    ctl.close();
  }
}

/** `--for 30s`: how long a condition stays before the node's agent removes it by itself. */
export function parseFor(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new UsageError(`--for: ${(err as Error).message}`);
  }
  if (!(ms > 0) || ms > MAX_TIMER_MS) throw new UsageError(`--for must be greater than 0 and at most ${formatDuration(MAX_TIMER_MS)} (got "${value}")`);
  return ms;
}

export function renderConditions(c: LabConditions): string {
  const lines: string[] = [];
  lines.push(`lab "${c.lab}"  backend: ${c.backend ? `${c.backend.backend} (${c.backend.reason})` : 'none in use'}`);
  const t = new Table({ head: ['from', 'to', 'condition', 'packets', 'helper'], style: { head: [], border: [] } });
  let rows = 0;
  for (const n of c.nodes) {
    for (const i of n.impairments) {
      const h = i.helper;
      const helper = !h
        ? i.impairment.rateBps !== undefined
          ? `htb ${formatRate(i.impairment.rateBps)}`
          : '-'
        : `${h.alive ? 'alive' : 'DEAD'} q${h.queue}${h.stats ? ` rx=${h.stats.received ?? 0} lost=${h.stats.lost ?? 0}` : ''}`;
      t.push([n.node, i.to === '*' ? '* (all)' : i.to, describeImpairment(i.impairment), String(i.packets), helper]);
      rows++;
    }
  }
  lines.push(rows > 0 ? t.toString() : 'no impairments in force');
  if (c.cuts.length > 0) {
    lines.push('cuts:');
    for (const cut of c.cuts) lines.push(`  ${cut.from} -/-> ${cut.to} (${cut.style})`);
  } else lines.push('no partitions in force');
  for (const n of c.nodes) for (const p of n.problems) lines.push(`PROBLEM: ${p}`);
  return lines.join('\n');
}
