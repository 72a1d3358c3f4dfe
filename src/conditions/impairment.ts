/**
 * The impairment model: what can be done to a node's egress, in canonical units, with the rules
 * that are checked before any namespace is touched. One parser and one describer serve the CLI's
 * flags, topology links, experiment conditions, timeline actions and the record acklab keeps in
 * the kernel (an iptables comment), so the same words mean the same thing everywhere.
 *
 * - An impairment applies to a node's egress, to one peer (a directed link: A→B differs from B→A)
 *   or to all of its egress (`to: '*'`; a per-peer condition wins over it).
 * - Text form: `delay=50ms jitter=10ms distribution=normal loss=5% rate=1mbit` (keys below).
 */
import { UnitError, formatDuration, formatRate, parseDuration, parsePercent, parseRate } from '../common/index.js';

export const DISTRIBUTIONS = ['uniform', 'normal', 'pareto', 'paretonormal'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** Everything in canonical units: ms, %, bit/s. Zero means "not impaired" for that aspect. */
export interface Impairment {
  delayMs: number;
  jitterMs: number;
  /** netem's delay correlation (%); only the netem backend honours it. */
  delayCorrelationPct: number;
  distribution: Distribution;
  lossPct: number;
  lossCorrelationPct: number;
  duplicatePct: number;
  reorderPct: number;
  corruptPct: number;
  /** Bits per second; undefined = unlimited. */
  rateBps?: number;
}

/** Raw input as it comes from CLI flags, YAML or `key=value` text (strings with units). */
export interface ImpairmentInput {
  delay?: string | number;
  jitter?: string | number;
  distribution?: string;
  delayCorrelation?: string | number;
  loss?: string | number;
  lossCorrelation?: string | number;
  duplicate?: string | number;
  reorder?: string | number;
  corrupt?: string | number;
  rate?: string | number;
}

/** The text keys, in the order they are written; `kebab` is the CLI flag and `key=value` name. */
export const IMPAIRMENT_FIELDS = [
  { key: 'delay', kebab: 'delay' },
  { key: 'jitter', kebab: 'jitter' },
  { key: 'distribution', kebab: 'distribution' },
  { key: 'delayCorrelation', kebab: 'delay-correlation' },
  { key: 'loss', kebab: 'loss' },
  { key: 'lossCorrelation', kebab: 'loss-correlation' },
  { key: 'duplicate', kebab: 'duplicate' },
  { key: 'reorder', kebab: 'reorder' },
  { key: 'corrupt', kebab: 'corrupt' },
  { key: 'rate', kebab: 'rate' },
] as const satisfies readonly { key: keyof ImpairmentInput; kebab: string }[];

export type ImpairmentKey = (typeof IMPAIRMENT_FIELDS)[number]['key'];
/** Every key as written in YAML (camelCase) and in text / flags (kebab-case). */
export const IMPAIRMENT_KEYS: readonly string[] = [...new Set(IMPAIRMENT_FIELDS.flatMap((f) => [f.key, f.kebab]))];

/** Documented ranges (README "Units and ranges"); every value outside them is refused with its field. */
export const IMPAIRMENT_LIMITS = {
  /** A one-way delay above a minute is a partition, not a delay. */
  maxDelayMs: 60_000,
  minRateBps: 1_000,
  maxRateBps: 100e9,
} as const;

export const NO_IMPAIRMENT: Impairment = Object.freeze({
  delayMs: 0,
  jitterMs: 0,
  delayCorrelationPct: 0,
  distribution: 'normal',
  lossPct: 0,
  lossCorrelationPct: 0,
  duplicatePct: 0,
  reorderPct: 0,
  corruptPct: 0,
}) as Impairment;

/** One problem with a condition; `field` is the input key it concerns (for positioned messages). */
export interface ConditionIssue {
  field?: string;
  message: string;
}

/** Rule violations, reported all at once so the user fixes them in one go. */
export class ConditionError extends Error {
  readonly problems: string[];
  constructor(readonly issues: ConditionIssue[]) {
    const problems = issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message));
    super(problems.length === 1 ? problems[0] : `invalid conditions:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConditionError';
    this.problems = problems;
  }

  /** The same issues, each message prefixed with where the condition was written. */
  at(where: string): ConditionError {
    return where === '' ? this : new ConditionError(this.issues.map((i) => ({ ...i, message: i.message, field: i.field ? `${where}: ${i.field}` : where })));
  }
}

export function conditionError(...messages: string[]): ConditionError {
  return new ConditionError(messages.map((message) => ({ message })));
}

/** The kebab name of a key (`lossCorrelation` → `loss-correlation`), used in every message. */
function kebabOf(key: ImpairmentKey): string {
  return IMPAIRMENT_FIELDS.find((f) => f.key === key)!.kebab;
}

/** `loss-correlation` or `lossCorrelation` → `lossCorrelation`; undefined for an unknown key. */
export function impairmentKey(name: string): ImpairmentKey | undefined {
  return IMPAIRMENT_FIELDS.find((f) => f.key === name || f.kebab === name)?.key;
}

/**
 * Raw input → Impairment, collecting every problem (each with its field). `where` prefixes every
 * message (e.g. `links[2] n1 -> n2` or `--to n2`) so the user can find the input.
 */
export function parseImpairment(input: ImpairmentInput, where = ''): Impairment {
  const issues: ConditionIssue[] = [];
  const field = <T>(key: ImpairmentKey, parse: (v: string | number) => T, dflt: T): T => {
    const raw = input[key];
    if (raw === undefined || raw === '') return dflt;
    if (typeof raw !== 'string' && typeof raw !== 'number') {
      issues.push({ field: kebabOf(key), message: `expected a value with a unit, got ${JSON.stringify(raw)}` });
      return dflt;
    }
    try {
      return parse(raw);
    } catch (err) {
      issues.push({ field: kebabOf(key), message: err instanceof UnitError ? err.message : String(err) });
      return dflt;
    }
  };
  const duration = (v: string | number) => {
    if (typeof v === 'string' && /^\s*-/.test(v)) throw new UnitError(`"${v}" is negative; durations are ≥ 0`);
    return parseDuration(v);
  };
  const imp: Impairment = {
    delayMs: field('delay', duration, 0),
    jitterMs: field('jitter', duration, 0),
    delayCorrelationPct: field('delayCorrelation', parsePercent, 0),
    distribution: 'normal',
    lossPct: field('loss', parsePercent, 0),
    lossCorrelationPct: field('lossCorrelation', parsePercent, 0),
    duplicatePct: field('duplicate', parsePercent, 0),
    reorderPct: field('reorder', parsePercent, 0),
    corruptPct: field('corrupt', parsePercent, 0),
  };
  const rate = field('rate', parseRate, undefined as number | undefined);
  if (rate !== undefined) imp.rateBps = rate;
  if (input.distribution !== undefined) {
    if ((DISTRIBUTIONS as readonly string[]).includes(String(input.distribution))) imp.distribution = input.distribution as Distribution;
    else issues.push({ field: 'distribution', message: `"${input.distribution}" is not one of ${DISTRIBUTIONS.join(', ')}` });
  }
  // A field that did not parse counts as unset: "nothing to impair" would only repeat that problem.
  const fieldProblems = issues.length > 0;
  issues.push(...ruleViolations(imp, input.distribution !== undefined).filter((i) => !(fieldProblems && i.field === undefined)));
  if (issues.length > 0) throw new ConditionError(issues).at(where);
  return imp;
}

/** Validates an impairment already in canonical units (e.g. read back from the kernel). */
export function checkImpairment(imp: Impairment, where = ''): Impairment {
  const issues: ConditionIssue[] = [];
  for (const [name, v] of [['delay', imp.delayMs], ['jitter', imp.jitterMs]] as const) {
    if (!Number.isFinite(v) || v < 0) issues.push({ field: name, message: `must be a duration ≥ 0 (got ${v})` });
  }
  const pcts = [
    ['loss', imp.lossPct], ['loss-correlation', imp.lossCorrelationPct], ['duplicate', imp.duplicatePct],
    ['reorder', imp.reorderPct], ['corrupt', imp.corruptPct], ['delay-correlation', imp.delayCorrelationPct],
  ] as const;
  for (const [name, v] of pcts) if (!Number.isFinite(v) || v < 0 || v > 100) issues.push({ field: name, message: `is 0–100 % (got ${v})` });
  if (imp.rateBps !== undefined && !(imp.rateBps > 0)) issues.push({ field: 'rate', message: `must be greater than zero (got ${imp.rateBps})` });
  issues.push(...ruleViolations(imp, false));
  if (issues.length > 0) throw new ConditionError(issues).at(where);
  return imp;
}

/** The cross-field rules and ranges (pumba's NewDelayCommand style: each message names its rule). */
function ruleViolations(imp: Impairment, distributionGiven: boolean): ConditionIssue[] {
  const out: ConditionIssue[] = [];
  const { maxDelayMs, minRateBps, maxRateBps } = IMPAIRMENT_LIMITS;
  if (imp.delayMs > maxDelayMs) out.push({ field: 'delay', message: `must be ≤ ${formatDuration(maxDelayMs)} (got ${formatDuration(imp.delayMs)}); use a partition for a link that is down` });
  // Neither netem nor the helper can send a packet before it was sent: jitter beyond delay would be clipped at 0.
  if (imp.jitterMs > imp.delayMs) out.push({ field: 'jitter', message: `jitter must be ≤ delay (jitter ${formatDuration(imp.jitterMs)} > delay ${formatDuration(imp.delayMs)})` });
  if (imp.rateBps !== undefined && (imp.rateBps < minRateBps || imp.rateBps > maxRateBps)) {
    out.push({ field: 'rate', message: `must be ${formatRate(minRateBps)}–${formatRate(maxRateBps)} (got ${formatRate(imp.rateBps)})` });
  }
  if (distributionGiven && imp.jitterMs === 0) out.push({ field: 'distribution', message: 'distribution needs a jitter (it shapes the jitter)' });
  if (imp.delayCorrelationPct > 0 && imp.jitterMs === 0) out.push({ field: 'delay-correlation', message: 'delay-correlation needs a jitter' });
  if (imp.lossCorrelationPct > 0 && imp.lossPct === 0) out.push({ field: 'loss-correlation', message: 'loss-correlation needs a loss' });
  // netem(8): reordered packets are the ones sent at once while the others wait out the delay.
  if (imp.reorderPct > 0 && imp.delayMs === 0) out.push({ field: 'reorder', message: 'reorder needs a delay (reordered packets are the ones sent without it)' });
  if (isNoop(imp)) out.push({ message: 'nothing to impair: give at least one of delay, loss, duplicate, reorder, corrupt or rate' });
  return out;
}

export function isNoop(imp: Impairment): boolean {
  return imp.delayMs === 0 && imp.lossPct === 0 && imp.duplicatePct === 0 && imp.reorderPct === 0 && imp.corruptPct === 0 && imp.rateBps === undefined;
}

/** True when the impairment needs a per-packet stage (a netem leaf, or the userspace helper). */
export function needsPacketStage(imp: Impairment): boolean {
  return imp.delayMs > 0 || imp.lossPct > 0 || imp.duplicatePct > 0 || imp.reorderPct > 0 || imp.corruptPct > 0;
}

/** The outcome of reading an impairment from a YAML map: the value, or each problem with the YAML key it concerns. */
export type ImpairmentFields = { impairment: Impairment; problems?: undefined } | { impairment?: undefined; problems: { key?: ImpairmentKey; message: string }[] };

/**
 * The impairment fields of a YAML map (a topology link, an experiment link), parsed; `undefined`
 * when the map has none of them. Problems name the YAML key (camelCase) so they can be positioned.
 */
export function parseImpairmentFields(raw: Record<string, unknown>): ImpairmentFields | undefined {
  const input: Record<string, unknown> = {};
  for (const f of IMPAIRMENT_FIELDS) if (raw[f.key] !== undefined) input[f.key] = raw[f.key];
  if (Object.keys(input).length === 0) return undefined;
  try {
    return { impairment: parseImpairment(input as ImpairmentInput) };
  } catch (err) {
    if (!(err instanceof ConditionError)) throw err;
    return { problems: err.issues.map((i) => ({ ...(i.field ? { key: impairmentKey(i.field) } : {}), message: i.message })) };
  }
}

/** `key=value` words (`delay=50ms`, `loss-correlation=25%`) → raw input; unknown keys are refused. */
export function parseImpairmentPairs(words: readonly string[]): ImpairmentInput {
  const input: Record<string, string> = {};
  const issues: ConditionIssue[] = [];
  for (const word of words) {
    const m = /^([a-zA-Z-]+)=(\S+)$/.exec(word);
    const key = m ? impairmentKey(m[1]!) : undefined;
    if (!m || key === undefined) {
      issues.push({ message: `"${word}" is not key=value with key one of ${IMPAIRMENT_FIELDS.map((f) => f.kebab).join(', ')}` });
      continue;
    }
    input[key] = m[2]!;
  }
  if (issues.length > 0) throw new ConditionError(issues);
  return input;
}

/**
 * The one text form of an impairment: only what differs from "unimpaired", in a fixed order,
 * e.g. `delay=50ms jitter=10ms distribution=pareto loss=5% rate=1mbit`. parseImpairmentPairs +
 * parseImpairment read it back to the same value.
 */
export function describeImpairment(imp: Impairment): string {
  return impairmentPairs(imp).join(' ');
}

export function impairmentPairs(imp: Impairment): string[] {
  const f: string[] = [];
  if (imp.delayMs > 0) f.push(`delay=${formatDuration(imp.delayMs)}`);
  if (imp.jitterMs > 0) f.push(`jitter=${formatDuration(imp.jitterMs)}`);
  // normal is the default, so it is left out (and read back as normal)
  if (imp.jitterMs > 0 && imp.distribution !== NO_IMPAIRMENT.distribution) f.push(`distribution=${imp.distribution}`);
  if (imp.delayCorrelationPct > 0) f.push(`delay-correlation=${imp.delayCorrelationPct}%`);
  if (imp.lossPct > 0) f.push(`loss=${imp.lossPct}%`);
  if (imp.lossCorrelationPct > 0) f.push(`loss-correlation=${imp.lossCorrelationPct}%`);
  if (imp.duplicatePct > 0) f.push(`duplicate=${imp.duplicatePct}%`);
  if (imp.reorderPct > 0) f.push(`reorder=${imp.reorderPct}%`);
  if (imp.corruptPct > 0) f.push(`corrupt=${imp.corruptPct}%`);
  if (imp.rateBps !== undefined) f.push(`rate=${formatRate(imp.rateBps)}`);
  return f;
}
