/**
 * Conditions are recorded in the kernel itself, as the comment of an iptables rule in the
 * node's namespace (iptables-extensions(8) `-m comment`), so `acklab conditions` and a later
 * `impair`/`heal` read them back from the kernel rather than from a file that could go stale.
 * The text is the condition language's own (describeImpairment / parseImpairmentPairs).
 */
import {
  CUT_STYLES,
  describeImpairment,
  parseImpairment,
  parseImpairmentPairs,
  type Cut,
  type CutStyle,
  type Impairment,
} from '../conditions/index.js';

const IMPAIR_PREFIX = 'acklab impair';
const CUT_PREFIX = 'acklab cut';

/** `acklab impair to=n2 delay=50ms jitter=10ms loss=5%` — only non-default fields. */
export function encodeImpairComment(to: string, imp: Impairment): string {
  return `${IMPAIR_PREFIX} to=${to} ${describeImpairment(imp)}`.trimEnd();
}

export function decodeImpairComment(comment: string): { to: string; impairment: Impairment } | undefined {
  if (!comment.startsWith(`${IMPAIR_PREFIX} `)) return undefined;
  const [toWord, ...pairs] = comment.slice(IMPAIR_PREFIX.length + 1).split(' ').filter((w) => w !== '');
  const to = /^to=(\S+)$/.exec(toWord ?? '')?.[1];
  if (!to) return undefined;
  try {
    return { to, impairment: parseImpairment(parseImpairmentPairs(pairs)) };
  } catch {
    return undefined; // not ours, or written by another version: left alone
  }
}

export function encodeCutComment(cut: Cut): string {
  return `${CUT_PREFIX} ${cut.from}->${cut.to} ${cut.style}`;
}

export function decodeCutComment(comment: string): Cut | undefined {
  const m = /^acklab cut (\S+)->(\S+) (\S+)$/.exec(comment);
  if (!m || !(CUT_STYLES as readonly string[]).includes(m[3]!)) return undefined;
  return { from: m[1]!, to: m[2]!, style: m[3] as CutStyle };
}
