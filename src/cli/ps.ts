/**
 * `acklab ps [LAB] [--all-owners] [--json]` — the nodes (running or exited) of your labs, or of LAB,
 * with kind, state and addresses (found by label).
 */
import type { Command } from 'commander';
import type { RunningNode } from '../lab/index.js';
import { engineRuntime, owner } from './engine.js';
import { printJson } from './input.js';
import { loadLabCatalog } from './load.js';
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
  /** The engine the node runs on, in a lab over several engines (absent otherwise). */
  engine?: string;
}

export function nodeJson(n: RunningNode): NodeJson {
  return {
    lab: n.lab,
    name: n.name,
    kind: n.kind,
    state: n.state,
    running: n.state === 'running',
    exitCode: n.exitCode,
    addresses: n.addresses,
    runId: n.runId,
    ...(n.engine === undefined ? {} : { engine: n.engine }),
  };
}

export function register(program: Command): void {
  program
    .command('ps')
    .description("list the nodes of your labs, or of LAB (running and exited); --all-owners: everyone's")
    .argument('[lab]', 'only this lab (whoever owns it)')
    .option('--all-owners', 'labs of every owner, with an owner column (default: yours, ACKLAB_OWNER or user@host)')
    .option('--json', 'print the nodes as one JSON document (shape: README "Machine-readable output")')
    .action(async (lab: string | undefined, opts: { json?: boolean; allOwners?: boolean }) => {
      const { listLabs, listNodes } = await loadLabCatalog();
      const runtime = await engineRuntime();
      const me = owner();
      // a lab named is shown whoever owns it (lab names are unique on an engine); else yours only
      const everyone = opts.allOwners === true || lab !== undefined;
      const nodes = await listNodes(runtime, lab, everyone ? {} : { owner: me });
      if (opts.json) {
        printJson({ nodes: nodes.map(nodeJson) });
        return;
      }
      if (nodes.length === 0) {
        if (lab !== undefined) process.stdout.write(`no lab named "${lab}" is running\n`);
        else if (opts.allOwners) process.stdout.write('no lab is running\n');
        else {
          process.stdout.write(`no lab of yours (${me}) is running\n`);
          const others = (await listLabs(runtime)).filter((l) => l.owner !== me);
          if (others.length > 0) process.stdout.write(`(${others.length} lab${others.length === 1 ? '' : 's'} of other owners: acklab ps --all-owners)\n`);
        }
        return;
      }
      process.stdout.write(`${nodeTable(nodes.map((n) => ({ ...n })), { withLab: true, withOwner: opts.allOwners === true })}\n`);
    });
}
