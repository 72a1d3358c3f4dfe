/** The shape of a topology file (before names and references are checked). */
import { z } from 'zod';
import { IMPAIRMENT_FIELDS } from '../conditions/index.js';
import { count, envMap, intOrNone, size, strict } from './fields.js';

const nameList = (what: string) => z.array(z.string(), { error: `expected a list of ${what} names` });

/** A link's conditions: the condition language's keys, parsed and checked by src/conditions. */
const conditionValue = z.union([z.string(), z.number()], { error: 'expected a value with a unit, e.g. "50ms", "5%", "1mbit"' });
export const conditionFields = Object.fromEntries(IMPAIRMENT_FIELDS.map((f) => [f.key, conditionValue.optional()])) as Record<
  (typeof IMPAIRMENT_FIELDS)[number]['key'],
  z.ZodOptional<typeof conditionValue>
>;

export const rawLinkSchema = strict({
  between: z
    .array(z.string(), { error: 'expected two node names, e.g. [a, b]' })
    .length(2, 'expected exactly two node names, e.g. [a, b]')
    .optional(),
  from: z.string({ error: 'expected a node name' }).optional(),
  to: z.string({ error: 'expected a node name' }).optional(),
  ...conditionFields,
});

/** What a node container may use; "none" lifts a limit. Defaults: see DEFAULT_LIMITS (resolve.ts). */
export const LIMIT_RANGES = { memory: { min: 16 * 1024 ** 2, max: 64 * 1024 ** 3 }, pids: { min: 16, max: 65_536 } } as const;
export const LOG_RANGES = { maxSize: { min: 64 * 1024, max: 1024 ** 3 }, maxFiles: { min: 1, max: 100 } } as const;

export const rawLimitsSchema = strict({
  memory: size(LIMIT_RANGES.memory.min, LIMIT_RANGES.memory.max, { orNone: true }).optional(),
  pids: intOrNone(LIMIT_RANGES.pids.min, LIMIT_RANGES.pids.max).optional(),
});
export const rawLogsSchema = strict({
  maxSize: size(LOG_RANGES.maxSize.min, LOG_RANGES.maxSize.max).optional(),
  maxFiles: count(LOG_RANGES.maxFiles.max).optional(),
});

export const rawNodeSchema = strict({
  kind: z.string({ error: 'every node needs a kind' }),
  networks: nameList('network').optional(),
  args: z.record(z.string(), z.unknown(), { error: 'expected a map of arguments' }).optional(),
  env: envMap().optional(),
  dependsOn: nameList('node').optional(),
  /** A build context (folder with a Dockerfile), relative to the topology file: acklab builds the node's image. */
  build: z.string({ error: 'expected a folder with a Dockerfile, relative to this file' }).min(1, 'expected a folder with a Dockerfile, relative to this file').optional(),
  /** An image of the topology's `images:`, or a local image reference. */
  image: z.string({ error: 'expected the name of an image under images:, or a local image reference' }).min(1, 'expected an image name').optional(),
  limits: rawLimitsSchema.optional(),
  logs: rawLogsSchema.optional(),
  /** Which engine of the topology's `engines:` runs the node; absent or "auto": spread in file order. */
  engine: z.string({ error: 'expected the name of an engine under engines:, or "auto"' }).min(1, 'expected an engine name').optional(),
});

/** An image acklab builds for the topology: `images: { seed: { build: ../../docker/twisted } }`. */
export const rawImageSchema = strict({
  build: z.string({ error: 'expected a folder with a Dockerfile, relative to this file' }).min(1, 'expected a folder with a Dockerfile, relative to this file'),
  args: envMap().optional(),
});

export const rawNetworkSchema = strict({
  subnet: z.string({ error: 'expected an IPv4 subnet like "10.10.1.0/24"' }).optional(),
  /** Default true: no route out of the lab; false lets nodes reach the host's networks (NAT). */
  internal: z.boolean({ error: 'expected true or false' }).optional(),
});

export const rawEngineSchema = strict({
  address: z.string({ error: 'expected an engine address: unix:///path/docker.sock, tcp://host:2376, ssh://user@host, or local' }),
  /** The address (an IPv4 address or an interface name) the engine advertises to a swarm acklab forms. */
  advertise: z.string({ error: 'expected the IPv4 address (or interface name) the engine advertises to its swarm' }).optional(),
});

export const rawTopologySchema = strict({
  name: z.string({ error: 'every topology needs a name (a DNS label such as "mcast3")' }),
  description: z.string().optional(),
  defaults: strict({
    networks: nameList('network').optional(),
    env: envMap().optional(),
    args: z.record(z.string(), z.record(z.string(), z.unknown()), { error: 'expected a map of kind: { arg: value }' }).optional(),
    limits: rawLimitsSchema.optional(),
    logs: rawLogsSchema.optional(),
  }).optional(),
  networks: z.record(z.string(), rawNetworkSchema.nullable(), { error: 'expected a map of network name: { subnet }' }).optional(),
  /**
   * Docker engines the lab spreads over: name → address (unix://, tcp://, https://, ssh://, or
   * "local"), or → { address, advertise } (the address the engine gives a swarm acklab forms).
   */
  engines: z
    .record(
      z.string(),
      z.union([z.string(), rawEngineSchema], {
        error: 'expected an engine address (unix:///path/docker.sock, tcp://host:2376, ssh://user@host, or local) or { address: ADDRESS, advertise: IP }',
      }),
      { error: 'expected a map of engine name: address' },
    )
    .optional(),
  /** existing (default): the engines' swarm as it is; form: acklab forms it where there is none. */
  swarm: z.enum(['existing', 'form'], { error: 'expected existing (use the swarm the engines are in) or form (acklab forms one where there is none)' }).optional(),
  images: z.record(z.string(), z.unknown(), { error: 'expected a map of image name: { build: folder }' }).optional(),
  // Nodes and links are checked one by one afterwards, so one bad node does not hide the others.
  nodes: z.record(z.string(), z.unknown(), { error: 'expected a map of node name: { kind, args, … }' }),
  links: z.array(z.unknown(), { error: 'expected a list of links' }).optional(),
});

export type RawTopology = z.output<typeof rawTopologySchema>;
export type RawLink = z.output<typeof rawLinkSchema>;
export type RawImage = z.output<typeof rawImageSchema>;
