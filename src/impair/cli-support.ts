/** What the impair/partition/heal/conditions verbs share: finding the lab, printing what is in force. */
import Table from 'cli-table3';
import { UsageError, formatRate } from '../common/index.js';
import { ImpairController, type LabConditions } from './controller.js';
import { dockerLabHandle } from './lab-handle.js';
import { BACKENDS, type Backend, type Impairment } from './model.js';
import { encodeImpairComment } from './spec-comment.js';

export interface CommonImpairOptions {
  dryRun?: boolean;
  backend?: string;
}

export function parseBackend(value: string | undefined): Backend | undefined {
  if (value === undefined) return undefined;
  if (!(BACKENDS as readonly string[]).includes(value)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')} (got "${value}")`);
  return value as Backend;
}

/** The lab's controller; the shaper image is built (or found) only when a sidecar must be made. */
export async function openController(lab: string, opts: CommonImpairOptions): Promise<ImpairController> {
  const shaperImage = async () => {
    const { ensureImages } = await import('../images/index.js');
    return (await ensureImages()).shaper;
  };
  const handle = await dockerLabHandle(lab, shaperImage);
  const backend = parseBackend(opts.backend);
  return new ImpairController(handle, { dryRun: opts.dryRun ?? false, probeImage: shaperImage, ...(backend ? { backend } : {}) });
}

/** One line per condition, the way it was recorded: `delay=50ms jitter=5ms dist=normal`. */
export function describeImpairment(imp: Impairment): string {
  return encodeImpairComment('x', imp).replace(/^acklab impair to=x ?/, '');
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
