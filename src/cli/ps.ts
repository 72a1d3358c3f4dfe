/** `acklab ps [LAB] [--json]` — every lab node (running or exited) with its kind, state and addresses (found by label). */
import type { Command } from 'commander';
import type { RunningNode } from '../lab/index.js';
import { loadLabCatalog, loadRuntime } from './load.js';
import { printJson } from './input.js';
import { nodeTable } from './lab-table.js';

/** One node as `ps --json` and `up --json` print it. */
export interface NodeJson {
  lab: string;
  name: string;
  kind: string;
  /** running, paused, exited (N), created, … */
  state: string;
  running: boolean;
  exitCode: number;
  /** IPv4 address per topology network (empty once the node has exited). */
  addresses: Record<string, string>;
  runId: string;
}

export function nodeJson(n: RunningNode): NodeJson {
  return { lab: n.lab, name: n.name, kind: n.kind, state: n.state, running: n.state === 'running', exitCode: n.exitCode, addresses: n.addresses, runId: n.runId };
}

export function register(program: Command): void {
  program
    .command('ps')
    .description('list the nodes of every lab, or of LAB (running and exited)')
    .argument('[lab]', 'only this lab')
    .option('--json', 'print the nodes as one JSON document (shape: README "Machine-readable output")')
    .action(async (lab: string | undefined, opts: { json?: boolean }) => {
      const [{ listNodes }, { dockerRuntime }] = await Promise.all([loadLabCatalog(), loadRuntime()]);
      const nodes = await listNodes(dockerRuntime(), lab);
      if (opts.json) {
        printJson({ nodes: nodes.map(nodeJson) });
        return;
      }
      if (nodes.length === 0) {
        process.stdout.write(lab === undefined ? 'no lab is running\n' : `no lab named "${lab}" is running\n`);
        return;
      }
      process.stdout.write(`${nodeTable(nodes.map((n) => ({ ...n })), { withLab: true })}\n`);
    });
}
