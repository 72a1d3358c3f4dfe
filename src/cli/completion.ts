/**
 * Shell completion, generated from the command definitions: `acklab completion bash|zsh` prints a
 * script (via @bomb.sh/tab) that asks `acklab complete -- WORDS…` for candidates, which are read
 * from commander's own verbs, options and arguments — so a new verb or flag completes with no
 * extra work. On top of the definitions: lab names for a LAB argument, the lab's node names for a
 * NODE argument (both from the engine, by label), and paths for file and folder arguments.
 */
import { readdirSync } from 'node:fs';
import type { Command } from 'commander';
import tab from '@bomb.sh/tab/commander';
import { loadLabCatalog, loadRuntime } from './load.js';

/** Argument names that take a path on this machine. */
const PATH_ARGUMENTS = new Set(['file', 'files', 'dir', 'dest']);

interface CompletionContext {
  /** The words after `acklab` (the last one is being completed). */
  words: string[];
  /** Lab name → its node names, from the engine (empty when it does not answer). */
  labs: Map<string, string[]>;
}

const context: CompletionContext = { words: [], labs: new Map() };

/** Paths that extend `partial`: entries of its folder, folders with a trailing slash. */
export function pathCandidates(partial: string): string[] {
  const slash = partial.lastIndexOf('/');
  const prefix = slash >= 0 ? partial.slice(0, slash + 1) : '';
  try {
    return readdirSync(prefix === '' ? '.' : prefix, { withFileTypes: true })
      .filter((e) => !e.name.startsWith('.') || partial.slice(slash + 1).startsWith('.'))
      .map((e) => `${prefix}${e.name}${e.isDirectory() ? '/' : ''}`);
  } catch {
    return [];
  }
}

/** Adds `acklab completion <shell>` (and the hidden `acklab complete -- …` it calls) to the program. */
export function addCompletion(program: Command): void {
  const root = tab(program, { completionCommandName: 'completion' });
  program.commands
    .find((c) => c.name() === 'completion')
    ?.description('print a shell completion script, e.g. source <(acklab completion bash) in ~/.bashrc (zsh, fish, powershell too)');
  program.hook('preAction', async (_program, action) => {
    if (action.name() !== 'complete') return;
    context.words = action.args;
    try {
      const [{ listNodes }, { dockerRuntime }] = await Promise.all([loadLabCatalog(), loadRuntime()]);
      const nodes = await listNodes(dockerRuntime());
      for (const n of nodes) context.labs.set(n.lab, [...(context.labs.get(n.lab) ?? []), n.name]);
    } catch {
      // no engine: complete without lab and node names
    }
  });
  for (const command of root.commands.values()) {
    for (const argument of command.arguments.values()) {
      if (argument.name === 'lab') {
        argument.handler = (complete) => {
          for (const lab of context.labs.keys()) complete(lab, 'lab');
          // `down` also takes a topology file
          if (command.value === 'down') for (const p of pathCandidates(context.words.at(-1) ?? '')) complete(p, '');
        };
      } else if (argument.name === 'node') {
        argument.handler = (complete) => {
          for (const node of context.labs.get(context.words[1] ?? '') ?? []) complete(node, 'node');
        };
      } else if (argument.name === 'source') {
        argument.handler = (complete) => {
          for (const node of context.labs.get(context.words[1] ?? '') ?? []) complete(`${node}:`, 'node');
        };
      } else if (PATH_ARGUMENTS.has(argument.name)) {
        argument.handler = (complete) => {
          for (const p of pathCandidates(context.words.at(-1) ?? '')) complete(p, '');
        };
      }
    }
  }
}
