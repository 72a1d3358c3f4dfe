/**
 * `acklab up FILE` — validates the topology, replaces any running copy of the lab, starts every
 * node (servers before clients, the mesh together), waits until ready, prints the node table.
 * Ctrl-C tears down what was created and exits 130; a second Ctrl-C exits at once (the next
 * `up` or `down` removes the leftovers by label).
 */
import type { Command } from 'commander';
import { AcklabError, lineLogger, parseDuration, UsageError } from '../common/index.js';
import { describeImpairment } from '../conditions/index.js';
import { loadLab } from './load.js';
import type { Topology } from '../topology/index.js';
import { printJson } from './input.js';
import { nodeTable } from './lab-table.js';
import type { NodeJson } from './ps.js';

/** What `up --json` prints. */
export interface UpJson {
  lab: string;
  runId: string;
  nodes: NodeJson[];
}

/** The resolved plan, as `up` would carry it out. */
export function describePlan(t: Topology): string {
  const lines = [`lab "${t.name}": ${t.nodes.length} nodes on ${t.networks.map((n) => `${n.name} (${n.subnet ?? 'subnet chosen at up'})`).join(', ')}`];
  t.stages.forEach((stage, i) => {
    lines.push(`stage ${i + 1}:`);
    for (const name of stage) {
      const n = t.nodes.find((x) => x.name === name)!;
      const image = n.image.type === 'local' ? n.image.ref : n.image.type === 'build' ? `image ${n.image.name} built from ${n.image.context}` : 'acklab node image';
      lines.push(`  ${n.name} (${n.kind}, ${image}, networks ${n.networks.join(', ')}): ${JSON.stringify(n.command)}`);
    }
  });
  for (const l of t.links) lines.push(`link ${l.from} → ${l.to}: ${describeImpairment(l.impairment)}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('up')
    .description('start a lab from a topology file (replaces a running lab of the same name)')
    .argument('<file>', 'topology file, e.g. lab/topologies/mcast3.yaml')
    .option('--ready-timeout <duration>', 'how long each node may take to become ready (default: per node, 30s)')
    .option('-q, --quiet', 'no progress lines')
    .option('--dry-run', 'validate and print the resolved plan (start stages, each node\'s command), start nothing')
    .option('--json', 'print the started lab as one JSON document (shape: README "Machine-readable output")')
    .action(async (file: string, opts: { readyTimeout?: string; quiet?: boolean; dryRun?: boolean; json?: boolean }) => {
      let readyTimeoutMs: number | undefined;
      if (opts.readyTimeout !== undefined) {
        try {
          readyTimeoutMs = parseDuration(opts.readyTimeout);
        } catch (err) {
          throw new UsageError(`--ready-timeout: ${(err as Error).message}`);
        }
      }
      if (opts.dryRun && opts.json) throw new UsageError('--dry-run prints the plan for reading; give it without --json');
      const { Lab } = await loadLab();
      const lab = Lab.fromFile(file);
      if (opts.dryRun) {
        process.stdout.write(describePlan(lab.topology));
        return;
      }
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        process.stderr.write('\nacklab up: interrupted; removing what was created (Ctrl-C again to quit at once)\n');
        abort.abort(new AcklabError('interrupted', 130));
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      try {
        const started = await lab.start({
          signal: abort.signal,
          readyTimeoutMs,
          ...(opts.quiet ? {} : { logger: lineLogger((line) => process.stderr.write(`acklab up: ${line}\n`)) }),
        });
        const rows = await Promise.all(
          started.nodes.map(async (n) => {
            const s = await started.state(n.name);
            return { lab: started.name, name: n.name, kind: n.kind, state: s.state === 'exited' ? `exited (${s.exitCode})` : s.state, running: s.running, exitCode: s.exitCode, addresses: n.addresses, runId: started.runId };
          }),
        );
        if (opts.json) printJson({ lab: started.name, runId: started.runId, nodes: rows } satisfies UpJson);
        else process.stdout.write(`lab "${started.name}" is up (run ${started.runId})\n${nodeTable(rows)}\n`);
      } catch (err) {
        if (abort.signal.aborted) throw new AcklabError(`up of "${lab.name}" interrupted; everything it created was removed`, 130, { cause: err });
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
