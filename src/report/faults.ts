/**
 * The fault timeline of a run as the report draws it: every step as played (a mark at the time it
 * was in force), and the spans the steps put a fault in force for (shaded). Steps are read by their
 * text and kind only, so steps of kinds this file does not know (process faults, nemesis steps)
 * still show, as marks labelled with their text:
 *
 *   opens a span               closed by the first later step that
 *   partition …, impair / delay / loss / … LINK    heal (all), or heal NODE of a node it involves
 *   kill NODE, stop NODE       start / restart NODE (or the same node's `start`-like step)
 *   pause NODE                 resume NODE
 *
 * A step is recorded twice: when it was due (`atMs`) and when it was in force (`appliedAtMs`); in
 * between, the rules were being changed, and the span is drawn lighter ("changing").
 */
import { nodesOf, partitionCuts, type NetworkAction } from '../conditions/index.js';
import type { RunManifest, TimelineRecord } from '../results/index.js';

/** What a step does to the run, for colour and for lost-message attribution. */
export type FaultClass = 'partition' | 'impair' | 'process' | 'heal' | 'other';

export interface TimelineMark {
  /** Offset from t0 where the step took effect (in-force time, else planned). */
  atMs: number;
  /** Offset from t0 the step was due at. */
  plannedMs: number;
  text: string;
  /** The action's kind as recorded (`partition`, `heal`, `impair`, or a kind added later). */
  kind: string;
  /** The step's verb: the first word of its action text (`partition`, `delay`, `kill`, …). */
  verb: string;
  cls: FaultClass;
  nodes: string[];
  applied: boolean;
  error?: string;
}

/** A fault in force over an interval (offsets from t0). */
export interface FaultSpan {
  text: string;
  cls: FaultClass;
  verb: string;
  nodes: string[];
  plannedMs: number;
  inForceMs: number;
  /** The step that ended it: its text, when it was due and when it was in force; null when nothing ended it within the run. */
  endText: string | null;
  endPlannedMs: number | null;
  endedMs: number | null;
  /** For a partition: the directions it cuts (from → to); empty for other faults. */
  cuts: { from: string; to: string }[];
}

/** A shaded band: `changing` while the rules were being put in or taken out, else in force. */
export interface FaultBand {
  fromMs: number;
  /** null: to the end of the run. */
  toMs: number | null;
  text: string;
  cls: FaultClass;
  changing: boolean;
}

const NETWORK_OPENERS = new Set(['partition', 'impair', 'delay', 'jitter', 'loss', 'rate', 'duplicate', 'corrupt', 'reorder', 'delay-correlation', 'loss-correlation']);
const PROCESS_OPENERS = new Set(['kill', 'stop', 'pause', 'crash', 'freeze']);
/** closer verb → the opener verbs it ends */
const CLOSERS: Record<string, (verb: string) => boolean> = {
  heal: (v) => NETWORK_OPENERS.has(v),
  start: (v) => v === 'kill' || v === 'stop' || v === 'crash',
  restart: (v) => v === 'kill' || v === 'stop' || v === 'crash' || v === 'pause' || v === 'freeze',
  resume: (v) => v === 'pause' || v === 'freeze',
  unpause: (v) => v === 'pause' || v === 'freeze',
  thaw: (v) => v === 'freeze',
};

/** The step's action text without its `at …` prefix. */
function actionText(record: TimelineRecord): string {
  return record.text.replace(/^\s*at\s+\S+\s+/, '').trim();
}

function verbOf(record: TimelineRecord): string {
  return (actionText(record).split(/\s+/, 1)[0] ?? '').toLowerCase();
}

function classOf(verb: string, kind: string): FaultClass {
  if (verb === 'partition' || kind === 'partition') return 'partition';
  if (verb in CLOSERS) return 'heal';
  if (NETWORK_OPENERS.has(verb) || kind === 'impair') return 'impair';
  if (PROCESS_OPENERS.has(verb)) return 'process';
  return 'other';
}

/** The nodes a step names: from the network action, else the generic `node`/`nodes` fields, else none. */
function nodesOfStep(record: TimelineRecord): string[] {
  const action = record.step?.action as (NetworkAction & { node?: unknown; nodes?: unknown }) | undefined;
  if (!action) return [];
  let named: string[] | undefined;
  try {
    named = nodesOf(action);
  } catch {
    named = undefined;
  }
  if (Array.isArray(named)) return named;
  if (typeof action.node === 'string') return [action.node];
  if (Array.isArray(action.nodes)) return action.nodes.filter((n): n is string => typeof n === 'string');
  return [];
}

/** The timeline as played: one mark per step (applied time when known). */
export function timelineMarks(manifest: RunManifest): TimelineMark[] {
  return (manifest.timeline ?? []).map((r) => {
    const kind = String(r.step?.action?.kind ?? '');
    const verb = verbOf(r);
    return {
      atMs: r.appliedAtMs ?? r.atMs,
      plannedMs: r.atMs,
      text: r.text,
      kind,
      verb,
      cls: classOf(verb, kind),
      nodes: nodesOfStep(r),
      applied: r.ok && r.appliedAtMs !== null,
      ...(r.error ? { error: r.error } : {}),
    };
  });
}

/**
 * Faults of a run: from an applied opening step to the first later step that ends it (see the table
 * above); open (end null) when nothing ended it.
 */
export function faultSpans(manifest: RunManifest): FaultSpan[] {
  const steps = manifest.timeline ?? [];
  const marks = timelineMarks(manifest);
  const spans: FaultSpan[] = [];
  marks.forEach((m, i) => {
    if (!m.applied || (m.cls !== 'partition' && m.cls !== 'impair' && m.cls !== 'process')) return;
    const end = marks.slice(i + 1).find((c) => {
      if (!c.applied || !(c.verb in CLOSERS) || !CLOSERS[c.verb]!(m.verb)) return false;
      // a closer that names no node ends everything of its class; one that names nodes ends what involves them
      return c.nodes.length === 0 || m.nodes.length === 0 || c.nodes.some((n) => m.nodes.includes(n));
    });
    const action = steps[i]!.step?.action;
    const cuts = action?.kind === 'partition' ? partitionCuts(action.partition).map(({ from, to }) => ({ from, to })) : [];
    spans.push({
      text: m.text,
      cls: m.cls,
      verb: m.verb,
      nodes: m.nodes,
      plannedMs: m.plannedMs,
      inForceMs: m.atMs,
      endText: end ? end.text : null,
      endPlannedMs: end ? end.plannedMs : null,
      endedMs: end ? end.atMs : null,
      cuts,
    });
  });
  return spans;
}

export function faultBands(s: FaultSpan): FaultBand[] {
  const bands: FaultBand[] = [];
  if (s.inForceMs > s.plannedMs) bands.push({ fromMs: s.plannedMs, toMs: s.inForceMs, text: `${s.text} (being applied)`, cls: s.cls, changing: true });
  const end = s.endPlannedMs === null ? null : Math.max(s.endPlannedMs, s.inForceMs);
  bands.push({ fromMs: s.inForceMs, toMs: end, text: s.text, cls: s.cls, changing: false });
  if (end !== null && s.endedMs !== null && s.endedMs > end) bands.push({ fromMs: end, toMs: s.endedMs, text: `${s.text} (being ended: ${s.endText})`, cls: s.cls, changing: true });
  return bands;
}

/**
 * Where a message from `from` to `to`, sent at `sentMs` and never received, was lost: at the first
 * fault that cuts that path and is in force at or after the send — a partition cutting from → to,
 * else a fault naming either node. Null when no fault of the timeline accounts for it.
 */
export function cutOf(spans: readonly FaultSpan[], from: string, to: string, sentMs: number): { atMs: number; text: string } | null {
  const live = (s: FaultSpan) => s.endPlannedMs === null || Math.max(s.endPlannedMs, s.inForceMs) > sentMs;
  const partition = spans.find((s) => s.cls === 'partition' && live(s) && s.cuts.some((c) => c.from === from && c.to === to));
  const other = partition ?? spans.find((s) => s.cls !== 'partition' && live(s) && (s.nodes.length === 0 || s.nodes.includes(from) || s.nodes.includes(to)));
  return other ? { atMs: Math.max(other.inForceMs, sentMs), text: other.text } : null;
}
