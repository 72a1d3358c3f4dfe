/**
 * `docker cp NODE:PATH DEST` for a lab node, running or exited: the engine hands out a tar of PATH
 * (a file or a directory), which is unpacked here. DEST semantics follow `docker cp`: an existing
 * directory receives PATH under its own name; otherwise PATH is written as DEST.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { AcklabError, errorMessage } from '../common/index.js';

/** Where an archive entry goes: its first path segment (PATH's own name) becomes `root`. Refuses escapes. */
export function entryTarget(entryName: string, root: string): string {
  const parts = entryName.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new AcklabError(`refusing archive entry "${entryName}": it leaves the destination`);
  return path.join(root, ...parts.slice(1));
}

/** Where PATH lands for a given DEST: inside DEST when it is an existing directory, else DEST itself. */
export async function copyRoot(sourcePath: string, dest: string): Promise<string> {
  const info = await stat(dest).catch(() => undefined);
  const name = path.posix.basename(sourcePath.replace(/\/+$/, '')) || '/';
  return info?.isDirectory() ? path.join(dest, name) : dest;
}

/** Unpacks a `docker cp` archive so that its top entry becomes `root`; returns the files written. */
export async function unpackArchive(archive: NodeJS.ReadableStream, root: string): Promise<string[]> {
  const written: string[] = [];
  const tar = extract();
  tar.on('entry', (header, stream, next) => {
    const done = (err?: unknown) => (err ? next(err as Error) : next());
    let target: string;
    try {
      target = entryTarget(header.name, root);
    } catch (err) {
      stream.resume();
      done(err);
      return;
    }
    if (header.type === 'directory') {
      stream.resume();
      mkdir(target, { recursive: true }).then(() => done(), done);
    } else if (header.type === 'file') {
      mkdir(path.dirname(target), { recursive: true })
        .then(() => pipeline(stream, createWriteStream(target, { mode: (header.mode ?? 0o644) & 0o777 })))
        .then(() => {
          written.push(target);
          done();
        }, done);
    } else if (header.type === 'symlink' && header.linkname) {
      stream.resume();
      mkdir(path.dirname(target), { recursive: true })
        .then(() => symlink(header.linkname!, target))
        .then(() => done(), done);
    } else {
      stream.resume();
      done();
    }
  });
  try {
    await pipeline(archive, tar);
  } catch (err) {
    throw new AcklabError(`could not unpack into ${root}: ${errorMessage(err)}`, 1, { cause: err });
  }
  return written;
}
