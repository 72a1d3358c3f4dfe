/**
 * Conditions are recorded in the kernel itself, as the comment of an iptables rule in the
 * node's namespace (iptables-extensions(8) `-m comment`), so `acklab conditions` and a later
 * `impair`/`heal` read them back from the kernel rather than from a file that could go stale.
 */
import { formatDuration, formatRate } from '../common/index.js';
import { type Cut, type CutStyle, type Distribution, DISTRIBUTIONS, type Impairment, NO_IMPAIRMENT } from './model.js';

const IMPAIR_PREFIX = 'acklab impair';
const CUT_PREFIX = 'acklab cut';

/** `acklab impair to=n2 delay=50ms jitter=10ms dist=normal loss=5%` — only non-default fields. */
export function encodeImpairComment(to: string, imp: Impairment): string {
  const f: string[] = [`to=${to}`];
  if (imp.delayMs > 0) f.push(`delay=${formatDuration(imp.delayMs)}`);
  if (imp.jitterMs > 0) f.push(`jitter=${formatDuration(imp.jitterMs)}`, `dist=${imp.distribution}`);
  if (imp.delayCorrelationPct > 0) f.push(`dcorr=${imp.delayCorrelationPct}%`);
  if (imp.lossPct > 0) f.push(`loss=${imp.lossPct}%`);
  if (imp.lossCorrelationPct > 0) f.push(`lcorr=${imp.lossCorrelationPct}%`);
  if (imp.duplicatePct > 0) f.push(`dup=${imp.duplicatePct}%`);
  if (imp.reorderPct > 0) f.push(`reorder=${imp.reorderPct}%`);
  if (imp.corruptPct > 0) f.push(`corrupt=${imp.corruptPct}%`);
  if (imp.rateBps !== undefined) f.push(`rate=${formatRate(imp.rateBps)}`);
  return `${IMPAIR_PREFIX} ${f.join(' ')}`;
}

export function decodeImpairComment(comment: string): { to: string; impairment: Impairment } | undefined {
  if (!comment.startsWith(`${IMPAIR_PREFIX} `)) return undefined;
  const kv = new Map(
    comment
      .slice(IMPAIR_PREFIX.length + 1)
      .split(' ')
      .map((p) => p.split('=', 2) as [string, string]),
  );
  const to = kv.get('to');
  if (!to) return undefined;
  const num = (k: string) => {
    const m = /^(\d+(?:\.\d+)?)([a-z%]*)$/.exec(kv.get(k) ?? '');
    return m ? Number(m[1]) * unitScale(m[2]!) : 0;
  };
  const imp: Impairment = {
    ...NO_IMPAIRMENT,
    delayMs: num('delay'),
    jitterMs: num('jitter'),
    delayCorrelationPct: num('dcorr'),
    lossPct: num('loss'),
    lossCorrelationPct: num('lcorr'),
    duplicatePct: num('dup'),
    reorderPct: num('reorder'),
    corruptPct: num('corrupt'),
  };
  const dist = kv.get('dist');
  if (dist && (DISTRIBUTIONS as readonly string[]).includes(dist)) imp.distribution = dist as Distribution;
  if (kv.has('rate')) imp.rateBps = num('rate');
  return { to, impairment: imp };
}

// The units encode* writes: formatDuration (us/ms/s/m) and formatRate (bit/kbit/mbit/gbit).
function unitScale(unit: string): number {
  const scales: Record<string, number> = {
    us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, '%': 1, '': 1,
    bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9,
  };
  return scales[unit] ?? 1;
}

export function encodeCutComment(cut: Cut): string {
  return `${CUT_PREFIX} ${cut.from}->${cut.to} ${cut.style}`;
}

export function decodeCutComment(comment: string): Cut | undefined {
  const m = /^acklab cut (\S+)->(\S+) (drop|reset)$/.exec(comment);
  return m ? { from: m[1]!, to: m[2]!, style: m[3] as CutStyle } : undefined;
}
