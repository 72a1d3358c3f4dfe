/**
 * The documented shape of every `--json` document (README "Machine-readable output"), as zod
 * schemas: the tests parse each verb's output with them, and a test checks that the README names
 * every field. Objects are loose: a field may be added, none removed or renamed without a note.
 */
import { z } from 'zod';

const verdict = z.enum(['pass', 'fail', 'invalid']);

/** One node, as `up --json` and `ps --json` print it. */
export const nodeShape = z.looseObject({
  lab: z.string(),
  name: z.string(),
  kind: z.string(),
  state: z.string(),
  running: z.boolean(),
  exitCode: z.number(),
  addresses: z.record(z.string(), z.string()),
  runId: z.string(),
  engine: z.string().optional(),
});

export const upShape = z.looseObject({ lab: z.string(), runId: z.string(), nodes: z.array(nodeShape) });

export const psShape = z.looseObject({ nodes: z.array(nodeShape) });

const cut = z.looseObject({ from: z.string(), to: z.string(), style: z.enum(['drop', 'reset']) });

export const conditionsShape = z.looseObject({
  lab: z.string(),
  backend: z.looseObject({ backend: z.enum(['netem', 'userspace']), reason: z.string() }).optional(),
  healthy: z.boolean(),
  cuts: z.array(cut),
  nodes: z.array(
    z.looseObject({
      node: z.string(),
      sidecar: z.boolean(),
      impairments: z.array(
        z.looseObject({
          node: z.string(),
          to: z.string(),
          impairment: z.looseObject({ delayMs: z.number(), jitterMs: z.number(), lossPct: z.number(), rateBps: z.number().optional() }),
          packets: z.number(),
          bytes: z.number(),
        }),
      ),
      cuts: z.array(cut.extend({ side: z.enum(['from', 'to']), packets: z.number() })),
      qdiscs: z.record(z.string(), z.string()),
      problems: z.array(z.string()),
    }),
  ),
});

export const resultsShape = z.looseObject({
  kind: z.literal('acklab-results'),
  experiment: z.string(),
  dir: z.string(),
  verdict,
  interrupted: z.boolean(),
  runs: z.array(
    z.looseObject({
      dir: z.string(),
      condition: z.string(),
      repetition: z.number(),
      status: z.string(),
      metrics: z.looseObject({ peer: z.unknown(), mcast: z.unknown(), problems: z.array(z.string()) }).nullable(),
      verdict: z.looseObject({ verdict, checks: z.array(z.looseObject({ name: z.string(), verdict, reason: z.string() })) }).optional(),
    }),
  ),
  reports: z.looseObject({ markdown: z.string().optional(), html: z.string().optional() }),
});

export const doctorShape = z.looseObject({
  ok: z.boolean(),
  checks: z.array(z.looseObject({ name: z.string(), status: z.enum(['ok', 'warn', 'fail']), detail: z.string(), fix: z.string().optional() })),
  engine: z.looseObject({ version: z.string(), host: z.string() }).optional(),
  images: z.array(z.unknown()).optional(),
  kernel: z.unknown().optional(),
});

/** Verb → the shape of its `--json` output. */
export const JSON_SHAPES = {
  up: upShape,
  ps: psShape,
  conditions: conditionsShape,
  run: resultsShape,
  report: resultsShape,
  doctor: doctorShape,
} as const;
