/**
 * Content hash of an image's build inputs: every file of its build context (path, executable bit,
 * bytes), the build arguments and the base image's id. Same inputs → same tag → no build.
 */
import { createHash } from 'node:crypto';

export interface ContextFile {
  /** Path inside the build context, `/`-separated, relative. */
  path: string;
  /** File mode bits (only the executable bit takes part in the hash: it is all COPY keeps that matters). */
  mode: number;
  content: Buffer | string;
}

export interface HashInputs {
  files: ContextFile[];
  buildArgs: Record<string, string>;
  /** The base image's id (`sha256:…`): a rebuilt or re-bootstrapped base changes every tag above it. */
  baseImageId: string;
}

/** Bumped when the way images are assembled changes in a way the inputs above do not show. */
export const HASH_SCHEME = 'acklab-images-v1';

/** Length of the hex hash used as the image tag. */
export const TAG_HASH_LENGTH = 12;

export function contentHash(inputs: HashInputs): string {
  const hash = createHash('sha256');
  const field = (value: string | Buffer): void => {
    // Length-prefixed, so no two different input lists can produce the same byte stream.
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    hash.update(`${bytes.length}:`);
    hash.update(bytes);
  };
  field(HASH_SCHEME);
  field(inputs.baseImageId);
  for (const key of Object.keys(inputs.buildArgs).sort()) {
    field(key);
    field(inputs.buildArgs[key] ?? '');
  }
  const files = [...inputs.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (let i = 1; i < files.length; i++) {
    if (files[i]?.path === files[i - 1]?.path) throw new Error(`duplicate build-context path: ${files[i]?.path}`);
  }
  for (const file of files) {
    field(file.path);
    field((file.mode & 0o111) !== 0 ? 'x' : '-');
    field(file.content);
  }
  return hash.digest('hex').slice(0, TAG_HASH_LENGTH);
}
