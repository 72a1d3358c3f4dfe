/**
 * The experiment file (YAML, usually in lab/experiments/): raw text → validated, resolved
 * `Experiment`. Every problem is reported with file:line:column and the field path.
 *
 * ```yaml
 * name: ack-vs-conditions
 * seed: 42                      # every random choice of a run derives from it (per-run seeds)
 * topology: ../topologies/client-server.yaml   # a file (relative to this one) or an inline topology
 * duration: 20s                 # how long the workload runs after it is started (t0)
 * repetitions: 2
 * workload:                     # optional changes to what the topology's nodes run
 *   - { node: client, args: [--interval, 200ms] }            # extra arguments for the node's program
 *   - { node: client, program: peer, args: [client, "server:8888"] }   # or another command entirely
 *   - { node: p3, start: 2s }                                 # start 2 s after t0
 * conditions:                   # named sets of link conditions and partitions, in force before t0
 *   - name: baseline
 *   - name: delay-200ms
 *     links: [{ from: "*", delay: 200ms, jitter: 50ms }]     # "*": every node's egress; `to:` one peer
 *   - name: split
 *     partitions: ["client | server"]
 *   - name: partition-mid-run
 *     timeline: ["at: 8s partition client | server"]      # or { at: 8s, do: "partition …" }
 * matrix:                       # expands into one condition per combination (0 = unimpaired)
 *   delay: [0ms, 50ms]
 *   loss: [0%, 10%]
 * timeline:                     # steps played in every condition, at offsets from t0
 *   - at: 12s heal
 * ```
 *
 * Timeline actions are the condition language's (src/conditions/actions.ts):
 * `delay|loss|rate|jitter|duplicate|corrupt|reorder LINK VALUE`, `impair LINK key=value…`,
 * `partition A,B | C`, `partition A -/-> B`, `heal [NODE]`; LINK is `n1->n2`, `n1<->n2`, `n1` or `*`.
 */
import path from 'node:path';
import { z } from 'zod';
import { durationRangeProblem, parseDuration, UnitError, formatDuration } from '../common/index.js';
import {
  ConditionError,
  IMPAIRMENT_FIELDS,
  describeImpairment,
  nodesOf,
  parseAction,
  parseNetworkActionLine,
  parseNemesis,
  nemesisNodes,
  type NemesisSpec,
  parseImpairment,
  parseImpairmentFields,
  parseLinkSelector,
  type NetworkAction,
} from '../conditions/index.js';
import { conditionFields, InputFileError, readInputFileSync } from '../topology/index.js';
import { PROGRAMS, type Condition, type Experiment, type ProgramName, type TimelineStep, type TopologyRef, type WorkloadItem } from '../results/index.js';
import { FileValidationError, YamlSource, type FieldPath, type SourceIssue } from './yaml-source.js';

export type { Condition, Experiment, ProgramName, TimelineStep, TopologyRef, WorkloadItem };

const NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The longest run an experiment may ask for (its `duration`): a day. */
export const MAX_RUN_DURATION_MS = 24 * 3_600_000;
/** The most runs (conditions × repetitions) one experiment may have. */
export const MAX_RUNS = 1000;
const CONDITION_NAME = /^[a-z0-9][a-z0-9._=+-]*$/i;

/** A zod field that parses a unit string with the shared unit parsers, reporting their message. */
const unit = <T>(parse: (s: string | number) => T) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
      return z.NEVER;
    }
  });

const duration = unit(parseDuration);

const actionLine = z.string().transform((text, ctx) => {
  try {
    return { text, actions: parseNetworkActionLine(text) };
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** `at: "10s partition n1 | n2,n3"` or `{ at: 10s, do: "partition n1 | n2,n3" }`. */
const timelineStep = z
  .union([
    z.strictObject({ at: z.string() }),
    z.strictObject({ at: z.union([z.string(), z.number()]), do: z.string() }),
    z.string(),
  ])
  .transform((raw, ctx) => {
    let when: string | number;
    let what: string;
    if (typeof raw === 'string') {
      // the quoted form "at: 10s heal" or "10s heal"
      const m = /^\s*(?:at:?\s+)?(\S+)\s+(.+)$/.exec(raw);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `write a step as "at: 10s partition n1 | n2" (got "${raw}")` });
        return z.NEVER;
      }
      when = m[1]!;
      what = m[2]!;
    } else if ('do' in raw) {
      when = raw.at;
      what = raw.do;
    } else {
      const m = /^\s*(\S+)\s+(.+)$/.exec(raw.at);
      if (!m) {
        ctx.addIssue({ code: 'custom', message: `write a step as "at: 10s partition n1 | n2" (got "at: ${raw.at}")` });
        return z.NEVER;
      }
      when = m[1]!;
      what = m[2]!;
    }
    try {
      const atMs = parseDuration(when);
      return parseAction(what).map((action) => ({ atMs, action, text: `at ${formatDuration(atMs)} ${what.trim()}` }));
    } catch (err) {
      if (err instanceof UnitError || err instanceof ConditionError) {
        ctx.addIssue({ code: 'custom', message: err.message });
        return z.NEVER;
      }
      throw err;
    }
  });

/** `{ from, to?, both?, delay, jitter, … }`: the condition language's fields on a link selector. */
const linkSpec = z
  .strictObject({ from: z.string().default('*'), to: z.string().optional(), both: z.boolean().default(false), ...conditionFields })
  .transform((raw, ctx) => {
    const parsed = parseImpairmentFields(raw);
    if (!parsed) {
      ctx.addIssue({ code: 'custom', message: `a link needs at least one condition: ${IMPAIRMENT_FIELDS.map((f) => f.key).join(', ')}` });
      return z.NEVER;
    }
    if (parsed.problems) {
      for (const p of parsed.problems) ctx.addIssue({ code: 'custom', ...(p.key ? { path: [p.key] } : {}), message: p.message });
      return z.NEVER;
    }
    const { impairment } = parsed;
    if (raw.both && raw.to === undefined) {
      ctx.addIssue({ code: 'custom', path: ['both'], message: '"both: true" needs "to" (the other end of the link)' });
      return z.NEVER;
    }
    let links;
    try {
      links = parseLinkSelector(raw.to === undefined ? raw.from : `${raw.from}${raw.both ? '<->' : '->'}${raw.to}`);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
    return links.map((link): NetworkAction => ({ kind: 'impair', link, impairment: { ...impairment } }));
  });

const partitionSpec = z.string().transform((text, ctx) => {
  try {
    return parseNetworkActionLine(`partition ${text}`)[0]!;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** `every 5s partition random-halves from 2s until 20s`, `flap a->b 2s` (src/conditions/nemesis.ts). */
const nemesisLine = z.string().transform((text, ctx) => {
  try {
    return parseNemesis(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const conditionSpec = z.strictObject({
  name: z.string().regex(CONDITION_NAME, 'a condition name is letters, digits and . _ = + - (it names a folder)'),
  description: z.string().optional(),
  links: z.array(linkSpec).default([]),
  partitions: z.array(partitionSpec).default([]),
  apply: z.array(actionLine).default([]),
  timeline: z.array(timelineStep).default([]),
  nemesis: z.array(nemesisLine).default([]),
});

const matrixSpec = z
  .strictObject({
    /** The link the matrix impairs; default every node's egress. */
    link: z.string().default('*'),
    delay: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    jitter: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    loss: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    rate: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  })
  .refine((m) => m.delay || m.jitter || m.loss || m.rate, { message: 'a matrix needs at least one of delay, jitter, loss, rate' });

const workloadSpec = z.strictObject({
  node: z.string().regex(NAME, 'a node name is lowercase letters, digits and "-"'),
  program: z.enum(PROGRAMS).optional(),
  args: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  start: duration.default(0),
});

export const experimentSchema = z.strictObject({
  name: z.string().regex(NAME, 'a name is lowercase letters, digits and "-" (it names folders and Docker resources)'),
  description: z.string().optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).default(1),
  topology: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  workload: z.array(workloadSpec).default([]),
  duration,
  repetitions: z.number().int().min(1).max(100).default(1),
  conditions: z.array(conditionSpec).optional(),
  matrix: matrixSpec.optional(),
  timeline: z.array(timelineStep).default([]),
  nemesis: z.array(nemesisLine).default([]),
});

export type RawExperiment = z.input<typeof experimentSchema>;

/** One expanded combination of a matrix: its name and the impairment. Zero values mean "not set". */
export function expandMatrix(matrix: z.output<typeof matrixSpec>): Condition[] {
  type ImpairmentKey = 'delay' | 'jitter' | 'loss' | 'rate';
  const axes: [ImpairmentKey, (string | number)[]][] = [];
  for (const key of ['delay', 'jitter', 'loss', 'rate'] as const) {
    const values = matrix[key];
    if (values) axes.push([key, values]);
  }
  let combos: [ImpairmentKey, string | number][][] = [[]];
  for (const [key, values] of axes) combos = combos.flatMap((c) => values.map((v) => [...c, [key, v] as [ImpairmentKey, string | number]]));
  return combos.map((combo) => {
    const input: Record<string, string | number> = {};
    for (const [key, value] of combo) {
      // a zero is the axis's "unimpaired" value
      if (value === 0 || /^0(\.0+)?\s*[a-z%]*$/i.test(String(value))) continue;
      input[key] = value;
    }
    const set = Object.keys(input).length > 0;
    const impairment = set ? parseImpairment(input) : undefined;
    const actions: NetworkAction[] = set
      ? parseLinkSelector(matrix.link).map((link) => ({ kind: 'impair' as const, link, impairment: { ...impairment! } }))
      : [];
    const name = impairment ? describeImpairment(impairment).replaceAll(' ', '+') : 'baseline';
    return { name, actions, timeline: [] };
  });
}

/**
 * Reads (bounded: a regular file of at most `maxBytes`, default ACKLAB_MAX_FILE_SIZE or 1 MiB,
 * checked before parsing) and validates an experiment file. Node names are checked later against
 * the topology.
 */
export async function loadExperimentFile(file: string, options: { maxBytes?: number } = {}): Promise<LoadedExperiment> {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readInputFileSync(absolute, options);
  } catch (err) {
    if (err instanceof InputFileError) throw new FileValidationError(file, [{ ...err.issue, file }], { cause: err });
    throw err;
  }
  return parseExperiment(text, absolute);
}

export interface LoadedExperiment {
  experiment: Experiment;
  source: YamlSource;
  /** Where each node name was mentioned, for `checkNodeNames`. */
  mentions: { node: string; path: FieldPath }[];
}

export function parseExperiment(text: string, file: string): LoadedExperiment {
  const source = new YamlSource(file, text);
  if (source.syntaxIssues.length > 0) throw new FileValidationError(file, source.syntaxIssues);
  const result = experimentSchema.safeParse(source.toJS());
  if (!result.success) {
    throw new FileValidationError(file, result.error.issues.flatMap((issue) => issuesOf(source, issue)));
  }
  const raw = result.data;
  const issues: SourceIssue[] = [];
  const mentions: { node: string; path: FieldPath }[] = [];

  const durationMs = raw.duration;
  const durationProblem = durationRangeProblem(durationMs, { above: 0, max: MAX_RUN_DURATION_MS });
  if (durationProblem) issues.push(source.issue(['duration'], `duration ${durationProblem}`));

  const checkTimeline = (steps: TimelineStep[][], at: FieldPath) => {
    steps.forEach((group, i) => {
      for (const step of group) {
        if (step.atMs > durationMs) {
          issues.push(source.issue([...at, i], `step at ${formatDuration(step.atMs)} is after the end of the run (duration ${formatDuration(durationMs)})`));
        }
        for (const node of nodesOf(step.action)) mentions.push({ node, path: [...at, i] });
      }
    });
    return steps.flat();
  };

  const common = checkTimeline(raw.timeline, ['timeline']);
  const checkNemesis = (specs: NemesisSpec[], at: FieldPath) => {
    specs.forEach((spec, i) => {
      if (spec.fromMs >= durationMs) issues.push(source.issue([...at, i], `it starts at ${formatDuration(spec.fromMs)}, not before the end of the run (duration ${formatDuration(durationMs)})`));
      for (const node of nemesisNodes(spec)) mentions.push({ node, path: [...at, i] });
    });
    return specs;
  };
  const commonNemesis = checkNemesis(raw.nemesis, ['nemesis']);
  raw.workload.forEach((w, i) => {
    mentions.push({ node: w.node, path: ['workload', i, 'node'] });
    if (w.start >= durationMs) issues.push(source.issue(["workload", i, "start"], `start ${formatDuration(w.start)} is not before the end of the run (duration ${formatDuration(durationMs)})`));
  });

  const conditions: Condition[] = [];
  (raw.conditions ?? []).forEach((c, i) => {
    const actions = [...c.links.flat(), ...c.partitions, ...c.apply.flatMap((a) => a.actions)];
    c.links.forEach((l, j) => l.forEach((a) => nodesOf(a).forEach((node) => mentions.push({ node, path: ['conditions', i, 'links', j] }))));
    c.partitions.forEach((p, j) => nodesOf(p).forEach((node) => mentions.push({ node, path: ['conditions', i, 'partitions', j] })));
    c.apply.forEach((p, j) => p.actions.flatMap(nodesOf).forEach((node) => mentions.push({ node, path: ['conditions', i, 'apply', j] })));
    const own = checkTimeline(c.timeline, ['conditions', i, 'timeline']);
    const nemesis = [...commonNemesis, ...checkNemesis(c.nemesis, ['conditions', i, 'nemesis'])];
    conditions.push({ name: c.name, actions, timeline: sortSteps([...common, ...own]), ...(nemesis.length ? { nemesis } : {}) });
  });
  if (raw.matrix) {
    try {
      for (const c of expandMatrix(raw.matrix)) conditions.push({ ...c, timeline: sortSteps(common), ...(commonNemesis.length ? { nemesis: commonNemesis } : {}) });
    } catch (err) {
      issues.push(source.issue(['matrix'], (err as Error).message));
    }
  }
  if (conditions.length === 0) conditions.push({ name: 'baseline', actions: [], timeline: sortSteps(common), ...(commonNemesis.length ? { nemesis: commonNemesis } : {}) });
  if (conditions.length * raw.repetitions > MAX_RUNS) {
    issues.push(
      source.issue(
        raw.matrix ? ['matrix'] : ['repetitions'],
        `${conditions.length} conditions × ${raw.repetitions} repetitions make ${conditions.length * raw.repetitions} runs; an experiment has at most ${MAX_RUNS}`,
      ),
    );
  }

  const seen = new Map<string, number>();
  conditions.forEach((c, i) => {
    if (seen.has(c.name)) {
      const at: FieldPath = raw.conditions && i < raw.conditions.length ? ['conditions', i, 'name'] : ['matrix'];
      issues.push(source.issue(at, `condition name "${c.name}" is used twice; names must be unique (they name the run folders)`));
    }
    seen.set(c.name, i);
  });

  if (issues.length > 0) throw new FileValidationError(file, issues);

  const topology: TopologyRef =
    typeof raw.topology === 'string'
      ? { kind: 'file', file: path.resolve(path.dirname(file), raw.topology) }
      : { kind: 'inline', value: raw.topology };

  const experiment: Experiment = {
    file,
    name: raw.name,
    seed: raw.seed,
    topology,
    workload: raw.workload.map((w) => ({
      node: w.node,
      ...(w.program ? { program: w.program } : {}),
      ...(w.args ? { args: w.args } : {}),
      startMs: w.start,
    })),
    durationMs,
    repetitions: raw.repetitions,
    conditions,
  };
  if (raw.description !== undefined) experiment.description = raw.description;
  return { experiment, source, mentions };
}

/** Checks every node an experiment mentions against the topology's node names. */
export function checkNodeNames(loaded: LoadedExperiment, nodeNames: readonly string[]): void {
  const known = new Set(nodeNames);
  const issues = loaded.mentions
    .filter((m) => !known.has(m.node))
    .map((m) => loaded.source.issue(m.path, `unknown node "${m.node}"; the topology has: ${[...known].join(', ')}`));
  if (issues.length > 0) throw new FileValidationError(loaded.source.file, issues);
}

function sortSteps(steps: TimelineStep[]): TimelineStep[] {
  // stable: steps at the same time keep the order they were written in
  return steps.map((s, i) => [s, i] as const).sort((a, b) => a[0].atMs - b[0].atMs || a[1] - b[1]).map(([s]) => s);
}

function issuesOf(source: YamlSource, issue: z.core.$ZodIssue): SourceIssue[] {
  const at = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => source.issue(at, `unknown field "${key}"; allowed: ${allowedKeys(at).join(', ')}`, key));
  }
  if (issue.path.length > 0 && lookup(source.toJS(), at) === undefined) return [source.issue(at, 'missing required field')];
  if (issue.code === 'invalid_union') {
    // report the most specific branch: the one whose issues go deepest
    const branches = issue.errors.filter((b) => b.length > 0);
    const best = branches.sort((a, b) => depth(b) - depth(a))[0];
    if (best && depth(best) > 0) return best.flatMap((i) => issuesOf(source, { ...i, path: [...at, ...i.path] } as z.core.$ZodIssue));
  }
  const value = lookup(source.toJS(), at);
  const message = issue.code === 'invalid_type' && value === undefined ? `missing required field` : issue.message;
  return [source.issue(at, message)];
}

function depth(issues: z.core.$ZodIssue[]): number {
  return Math.max(...issues.map((i) => (i.code === 'invalid_type' && i.path.length === 0 ? -1 : i.path.length)));
}

function lookup(value: unknown, at: FieldPath): unknown {
  let v = value;
  for (const key of at) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[key];
  }
  return v;
}

const FIELDS: Record<string, string[]> = {
  '': Object.keys(experimentSchema.shape),
  conditions: Object.keys(conditionSpec.shape),
  links: ['from', 'to', 'both', ...IMPAIRMENT_FIELDS.map((f) => f.key)],
  workload: Object.keys(workloadSpec.shape),
  matrix: ['link', 'delay', 'jitter', 'loss', 'rate'],
  timeline: ['at', 'do'],
};

function allowedKeys(at: FieldPath): string[] {
  const named = at.filter((p): p is string => typeof p === 'string');
  return FIELDS[named[named.length - 1] ?? ''] ?? [];
}
