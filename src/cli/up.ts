/**
 * `acklab up [--name NAME] FILE` — validates the topology, claims the lab name (replacing your own
 * finished lab of that name, refusing anyone else's), starts every node (servers before clients,
 * the mesh together), waits until ready, marks the lab as detached (it outlives `up`) and prints
 * the node table. Ctrl-C tears down what was created and exits 130; a second Ctrl-C exits at
 * once, and the watchdog of this `up` removes the half-started lab.
 */
import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import { AcklabError, formatSize, lineLogger, parseDuration, UsageError } from '../common/index.js';
import { describeImpairment } from '../conditions/index.js';
import type { NodeLimits, NodeLogs, Topology } from '../topology/index.js';
import { DEFAULT_MAX_NODES, dnsNameProblem } from '../topology/names.js';
import { engineRuntime } from './engine.js';
import { printJson } from './input.js';
import { loadLab } from './load.js';
import { nodeTable } from './lab-table.js';
import type { NodeJson } from './ps.js';

/** What `up --json` prints. */
export interface UpJson {
  lab: string;
  runId: string;
  nodes: NodeJson[];
}

const limitsText = (l: NodeLimits, logs: NodeLogs) =>
  `memory ${l.memoryBytes === undefined ? 'unlimited' : formatSize(l.memoryBytes)}, pids ${l.pids ?? 'unlimited'}, logs ${logs.maxFiles} × ${formatSize(logs.maxBytes)}`;

/** The resolved plan, as `up` would carry it out. */
export function describePlan(t: Topology, name = t.name): string {
  const nets = t.networks.map((n) => `${n.name} (${n.subnet ?? 'subnet chosen at up'}${n.internal ? ', internal' : ', with a route out'})`).join(', ');
  const lines = [`lab "${name}"${name === t.name ? '' : ` (topology "${t.name}")`}: ${t.nodes.length} nodes on ${nets}`];
  // The limits most nodes have are said once; a node with others shows its own.
  const counts = new Map<string, number>();
  for (const n of t.nodes) counts.set(limitsText(n.limits, n.logs), (counts.get(limitsText(n.limits, n.logs)) ?? 0) + 1);
  const common = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  t.stages.forEach((stage, i) => {
    lines.push(`stage ${i + 1}:`);
    for (const node of stage) {
      const n = t.nodes.find((x) => x.name === node)!;
      const image = n.image.type === 'local' ? n.image.ref : n.image.type === 'build' ? `image ${n.image.name} built from ${n.image.context}` : 'acklab node image';
      const own = limitsText(n.limits, n.logs);
      lines.push(`  ${n.name} (${n.kind}, ${image}, networks ${n.networks.join(', ')}${own === common ? '' : `, ${own}`}): ${JSON.stringify(n.command)}`);
    }
  });
  if (common) lines.push(`every node: ${common}${t.nodes.every((n) => limitsText(n.limits, n.logs) === common) ? '' : ' (unless shown)'}`);
  for (const l of t.links) lines.push(`link ${l.from} → ${l.to}: ${describeImpairment(l.impairment)}`);
  return `${lines.join('\n')}\n`;
}

/** `--max-nodes N`: a whole number ≥ 1. */
export function maxNodesOption(v: string): number {
  if (!/^[1-9]\d*$/.test(v) || Number(v) > 10_000) throw new UsageError(`--max-nodes must be a whole number 1–10000 (got "${v}")`);
  return Number(v);
}

export function labNameOption(v: string): string {
  const problem = dnsNameProblem(v);
  if (problem) throw new UsageError(`--name: ${problem}`);
  return v;
}

interface Opts {
  name?: string;
  readyTimeout?: string;
  overlayTimeout?: string;
  quiet?: boolean;
  dryRun?: boolean;
  maxNodes: number;
  replace: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('up')
    .description('start a lab from a topology file (your own finished lab of the same name is replaced)')
    .argument('<file>', 'topology file, e.g. lab/topologies/mcast3.yaml')
    .option('--name <name>', "the lab's name (default: the file's name:), so one topology can run as several labs", labNameOption)
    .option('--ready-timeout <duration>', 'how long each node may take to become ready (default: per node, 30s)')
    .option('--overlay-timeout <duration>', 'over several engines: how long to wait for the overlay network to carry traffic between them (default 60s)')
    .option('--max-nodes <n>', `the most nodes the lab may have (default ${DEFAULT_MAX_NODES})`, maxNodesOption, DEFAULT_MAX_NODES)
    .option('--no-replace', 'refuse when a lab of this name is already up, instead of replacing it')
    .option('-q, --quiet', 'no progress lines')
    .option('--dry-run', 'validate and print the resolved plan (start stages, each node\'s command), start nothing')
    .option('--json', 'print the started lab as one JSON document (shape: README "Machine-readable output")')
    .action(async (file: string, opts: Opts) => {
      const readyTimeoutMs = timeoutOption('--ready-timeout', opts.readyTimeout);
      const overlayTimeoutMs = timeoutOption('--overlay-timeout', opts.overlayTimeout);
      if (opts.dryRun && opts.json) throw new UsageError('--dry-run prints the plan for reading; give it without --json');
      const { Lab } = await loadLab();
      const lab = Lab.fromFile(file, { maxNodes: opts.maxNodes });
      const name = opts.name ?? lab.topology.name;
      if (opts.dryRun) {
        process.stdout.write(describePlan(lab.topology, name));
        return;
      }
      const runtime = await engineRuntime();
      const abort = new AbortController();
      // every node's readiness wait and every step listens on the one abort signal
      setMaxListeners(0, abort.signal);
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write('\nacklab up: interrupted; removing what was created (Ctrl-C again to quit at once: the watchdog of this up removes the rest)\n');
        abort.abort(new AcklabError('interrupted', 130));
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const started = await lab.start({
          runtime,
          name,
          maxNodes: opts.maxNodes,
          replace: opts.replace,
          signal: abort.signal,
          readyTimeoutMs,
          overlayTimeoutMs,
          ...(opts.quiet ? {} : { logger: lineLogger((line) => process.stderr.write(`acklab up: ${line}\n`)) }),
        });
        // From here the lab outlives this process, until `acklab down`.
        await started.detach();
        const rows = await Promise.all(
          started.nodes.map(async (n) => {
            const s = await started.state(n.name);
            return { lab: started.name, name: n.name, kind: n.kind, state: s.state === 'exited' ? `exited (${s.exitCode})` : s.state, running: s.running, exitCode: s.exitCode, addresses: n.addresses, runId: started.runId };
          }),
        );
        if (opts.json) printJson({ lab: started.name, runId: started.runId, nodes: rows } satisfies UpJson);
        else process.stdout.write(`lab "${started.name}" is up (run ${started.runId}, owner ${started.owner})\n${nodeTable(rows)}\n`);
      } catch (err) {
        if (abort.signal.aborted) throw new AcklabError(`up of "${name}" interrupted; everything it created was removed`, 130, { cause: err });
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}

/** A duration flag's milliseconds (undefined when not given): more than 0, at most 2^31−1 ms (a timer's limit). */
function timeoutOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    throw new UsageError(`${flag}: ${(err as Error).message}`);
  }
  if (!(ms > 0) || ms > 2 ** 31 - 1) throw new UsageError(`${flag} must be greater than 0 and at most 2^31−1 ms (got "${value}")`);
  return ms;
}
