/**
 * `acklab run --dry-run`: the experiment validated as completely as a real run validates it (the
 * file, its topology, node names, the node ceiling, the output folder) and its plan in words —
 * without touching Docker or creating anything.
 */
import { formatDuration } from '../common/index.js';
import { describeAction, describeImpairment } from '../conditions/index.js';
import type { LoadedExperiment } from './experiment-file.js';
import type { PreparedExperiment } from './runner.js';
import { runTopology } from './topology.js';

export function describeExperimentPlan(loaded: LoadedExperiment, prepared: PreparedExperiment, outDir: string): string {
  const { experiment } = loaded;
  const { base, planned, parallel } = prepared;
  const lines: string[] = [];
  const conditions = experiment.conditions.length;
  lines.push(
    `experiment "${experiment.name}" (seed ${experiment.seed}): ${conditions} condition${conditions === 1 ? '' : 's'} × ${experiment.repetitions} repetition${experiment.repetitions === 1 ? '' : 's'} = ${planned.length} run${planned.length === 1 ? '' : 's'} of ${formatDuration(experiment.durationMs)}, ${parallel} at a time`,
  );
  const where = experiment.topology.kind === 'file' ? experiment.topology.file : 'inline';
  const nets = base.networks.map((n) => `${n.name} (${n.subnet ?? 'subnet chosen at up'}${n.internal ? ', internal' : ''})`).join(', ');
  lines.push(`topology "${base.name}" (${where}): ${base.nodes.length} nodes on ${nets}; each run is a lab of its own`);
  const { topology, gated } = runTopology(base, experiment, `${experiment.name}-<sweep>-<n>`);
  lines.push('nodes (gated ones start at t0 plus their offset, once the condition is in force):');
  for (const node of topology.nodes) {
    const start = experiment.workload.find((w) => w.node === node.name)?.startMs ?? 0;
    const when = gated.includes(node.name) ? `t0${start > 0 ? ` + ${formatDuration(start)}` : ''}` : 'before t0 (a server)';
    const original = base.nodes.find((n) => n.name === node.name)!;
    lines.push(`  ${node.name} (${node.kind}, ${when}): ${JSON.stringify(instrumented(original.command, node.command))}`);
  }
  for (const l of base.links) lines.push(`topology link ${l.from} → ${l.to}: ${describeImpairment(l.impairment)}`);
  lines.push('conditions:');
  for (const c of experiment.conditions) {
    const actions = c.actions.map(describeAction);
    lines.push(`  ${c.name}: ${actions.length > 0 ? actions.join('; ') : 'no condition beyond the topology'}`);
    for (const step of c.timeline) lines.push(`    ${step.text}`);
  }
  lines.push(`runs: ${planned.map((r) => r.dir).join(', ')}`);
  lines.push(`output: ${outDir}`);
  return `${lines.join('\n')}\n`;
}

/** The program's argv as the run starts it: without the start gate's `sh -c` wrapper. */
function instrumented(original: string[], command: string[]): string[] {
  if (command[0] === 'sh' && command[1] === '-c' && command.length > 4 && original[0] !== 'sh') return command.slice(4);
  return command;
}
