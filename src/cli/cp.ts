/**
 * `acklab cp LAB NODE:PATH DEST` — a file or directory out of a node, running or exited (like
 * `docker cp`): into DEST when it is an existing directory, else as DEST; `-` writes the tar to stdout.
 */
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { AcklabError, UsageError } from '../common/index.js';
import { nodeOf, openLab } from './lab-target.js';

/** `NODE:PATH` → its parts; the path is absolute or relative to the node's working directory. */
export function parseNodePath(text: string): { node: string; path: string } {
  const m = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?):(.+)$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not NODE:PATH (e.g. p1:/home/acklab/delivered-1.jsonl)`);
  return { node: m[1]!, path: m[3]! };
}

export function register(program: Command): void {
  program
    .command('cp')
    .description('copy a file or directory out of a node, also of one that has exited (like docker cp)')
    .argument('<lab>', 'lab name')
    .argument('<source>', 'NODE:PATH (a relative PATH is under the node\'s working directory, /home/acklab)')
    .argument('<dest>', 'where to put it: an existing directory (PATH keeps its name), a new name, or - for a tar on stdout')
    .action(async (lab: string, source: string, dest: string) => {
      const src = parseNodePath(source);
      const target = await openLab(lab);
      const n = nodeOf(target, src.node);
      const absolute = src.path.startsWith('/') ? src.path : path.posix.join('/home/acklab', src.path);
      const archive = await target.runtime.containers.archiveOut(n.containerId, absolute);
      if (!archive) throw new AcklabError(`node "${n.name}" of lab "${lab}" has no ${absolute}`);
      if (dest === '-') {
        await pipeline(archive, process.stdout);
        return;
      }
      const { copyRoot, unpackArchive } = await import('../lab/copy.js');
      const files = await unpackArchive(archive, await copyRoot(absolute, dest));
      process.stderr.write(`copied ${n.name}:${absolute} → ${path.relative(process.cwd(), await copyRoot(absolute, dest)) || '.'} (${files.length} file${files.length === 1 ? '' : 's'})\n`);
    });
}
