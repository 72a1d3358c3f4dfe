/**
 * Images built from build contexts: a topology's `build: DIR` (a node's own, or a named image under
 * `images:`). Built like acklab's own images: offline, from acklab's Debian base (passed as the build
 * argument ACKLAB_BASE), content-hashed (every context file, the build arguments, the base images'
 * ids) and tagged `acklab/build-<name>:<hash>`, so an existing tag means nothing to build; labelled
 * `role: image` with the hash, so `acklab images --prune` removes older builds. A failed build names
 * the topology line that asked for it.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AcklabError, errorMessage } from '../common/index.js';
import { dockerRuntime, type ImageClient, type Runtime } from '../runtime/index.js';
import type { BuildImageSpec, Topology } from '../topology/index.js';
import { contentHash, type ContextFile } from './content-hash.js';
import { buildContextFiles, resolveDebianBase, type ImageResult } from './images.js';
import { BUILD_REPO_PREFIX } from './plan.js';

/** The build argument through which a Dockerfile gets acklab's Debian base: `ARG ACKLAB_BASE` / `FROM ${ACKLAB_BASE}`. */
export const BASE_ARG = 'ACKLAB_BASE';

/** A context larger than this is almost certainly a mistake (a build: pointing at a home folder). */
export const CONTEXT_LIMITS = { files: 10_000, bytes: 512 * 1024 * 1024 } as const;

/** One image built (or found up to date) for a build context. */
/** A build context's image: what `buildImages` reports for acklab's own, under the spec's key and name. */
export interface BuiltImage extends Omit<ImageResult, 'role'> {
  /** `buildKey` of the spec. */
  key: string;
  name: string;
}

/** Build contexts' images by `buildKey`. */
export type BuiltImages = ReadonlyMap<string, BuiltImage>;

export interface BuildContextOptions {
  runtime?: Runtime;
  /** Progress lines (building, up to date, built in N s). */
  log?: (line: string) => void;
  /** Build again without the layer cache. */
  rebuild?: boolean;
  /** Every line of the build output, not only the steps. */
  verbose?: boolean;
  /** The Debian base passed as ACKLAB_BASE (default: the one acklab's shaper image uses). */
  baseImage?: string;
}

/** Two specs with the same key are one image: same folder, same build arguments. */
export function buildKey(spec: Pick<BuildImageSpec, 'context' | 'buildArgs'>): string {
  const args = Object.keys(spec.buildArgs).sort().map((k) => `${k}=${spec.buildArgs[k]}`);
  return [spec.context, ...args].join('\0');
}

/** `acklab/build-<name>:<hash>`. */
export function buildImageTag(name: string, hash: string): string {
  return `${BUILD_REPO_PREFIX}${name}:${hash}`;
}

/** Every build context a topology's nodes need, once each. */
export function topologyBuilds(topology: Pick<Topology, 'nodes'>): BuildImageSpec[] {
  const specs = new Map<string, BuildImageSpec>();
  for (const node of topology.nodes) {
    if (node.image.type === 'build' && !specs.has(buildKey(node.image))) specs.set(buildKey(node.image), node.image);
  }
  return [...specs.values()];
}

/* .dockerignore (Docker's rules: a pattern per line, `#` comments, `!` re-includes, `**` any depth;
 * a pattern matching a folder excludes what is inside; the last matching pattern wins). */

interface IgnorePattern {
  negated: boolean;
  regex: RegExp;
}

/** `**` any number of path segments, `*` and `?` within one segment, `[…]` a class. */
function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // "**/" matches zero or more folders; a trailing "**" everything below
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    line = path.posix.normalize(line).replace(/^\/+|\/+$/g, '');
    if (line === '' || line === '.') continue;
    patterns.push({ negated, regex: globRegex(line) });
  }
  return patterns;
}

/** Whether `.dockerignore` patterns exclude `file` (a context-relative path). */
export function isIgnored(patterns: readonly IgnorePattern[], file: string): boolean {
  const parts = file.split('/');
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const p of patterns) if (prefixes.some((x) => p.regex.test(x))) ignored = !p.negated;
  return ignored;
}

/**
 * The build context of `dir` in memory: every file not excluded by its `.dockerignore` (the
 * Dockerfile always), symbolic links followed. Bounded by CONTEXT_LIMITS.
 */
export async function readBuildContext(dir: string): Promise<ContextFile[]> {
  const ignoreText = await readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const patterns = parseDockerignore(ignoreText);
  const files: ContextFile[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const keep = relPath === 'Dockerfile' || relPath === '.dockerignore' || !isIgnored(patterns, relPath);
      const full = path.join(dir, relPath);
      const info = await stat(full).catch(() => undefined);
      if (!info) continue; // a dangling link: Docker would fail on it only if COPY named it
      if (info.isDirectory()) {
        // an excluded folder may still hold a re-included file ("!folder/keep")
        if (keep || patterns.some((p) => p.negated)) await walk(relPath);
      } else if (info.isFile() && keep) {
        bytes += info.size;
        if (files.length >= CONTEXT_LIMITS.files || bytes > CONTEXT_LIMITS.bytes) {
          throw new AcklabError(
            `the build context ${dir} holds more than ${CONTEXT_LIMITS.files} files or ${CONTEXT_LIMITS.bytes / 1024 / 1024} MB; ` +
              'point build: at the folder with the Dockerfile, or list what to leave out in its .dockerignore',
          );
        }
        files.push({ path: relPath, mode: info.mode, content: await readFile(full) });
      }
    }
  };
  await walk('');
  return files;
}

/** A `FROM` of a Dockerfile: the image it names (after build arguments are substituted) and its line. */
export interface FromLine {
  line: number;
  /** As written. */
  text: string;
  /** The image reference, or undefined when a variable in it has no value. */
  ref: string | undefined;
  /** A `FROM` naming an earlier stage (`AS name`) or `scratch` needs no image. */
  needsImage: boolean;
}

/** The FROM lines of a Dockerfile, with `ARG` defaults (before the first FROM) and `args` substituted. */
export function dockerfileFroms(text: string, args: Record<string, string>): FromLine[] {
  const lines = text.split(/\r?\n/);
  const vars: Record<string, string> = {};
  const stages = new Set<string>();
  const froms: FromLine[] = [];
  const substitute = (s: string): string | undefined => {
    let missing = false;
    const out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, dflt: string | undefined, b: string | undefined) => {
      const name = (a ?? b)!;
      const value = args[name] ?? vars[name] ?? dflt;
      if (value === undefined || value === '') missing = true;
      return value ?? '';
    });
    return missing ? undefined : out;
  };
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    // a backslash at the end continues the instruction on the next line
    while (/\\\s*$/.test(line) && i + 1 < lines.length) line = line.replace(/\\\s*$/, ' ') + lines[++i]!;
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) continue;
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i.exec(trimmed);
    if (arg && froms.length === 0) {
      if (arg[2] !== undefined) vars[arg[1]!] = arg[2].replace(/^["']|["']$/g, '');
      continue;
    }
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(trimmed);
    if (!from) continue;
    const ref = substitute(from[1]!);
    froms.push({ line: start + 1, text: trimmed.replace(/\s+/g, ' '), ref, needsImage: ref === undefined || !(ref === 'scratch' || stages.has(ref.toLowerCase())) });
    if (from[2]) stages.add(from[2].toLowerCase());
  }
  return froms;
}

/** Makes sure every build context of the topology has its image; returns them by buildKey. */
export async function ensureTopologyImages(topology: Pick<Topology, 'nodes'>, options: BuildContextOptions = {}): Promise<Map<string, BuiltImage>> {
  return ensureBuiltImages(topologyBuilds(topology), options);
}

/**
 * Builds each spec whose content-hash tag is missing (one after the other: a 2-core machine gains
 * nothing from parallel builds). Throws on the first failure, naming where the build was asked for.
 */
export async function ensureBuiltImages(specs: readonly BuildImageSpec[], options: BuildContextOptions = {}): Promise<Map<string, BuiltImage>> {
  const out = new Map<string, BuiltImage>();
  if (specs.length === 0) return out;
  const runtime = options.runtime ?? dockerRuntime();
  const images = runtime.images;
  // library use is silent unless the caller passes a log (the CLI does)
  const log = options.log ?? (() => {});
  const base = await resolveDebianBase(images, log, options.baseImage);
  for (const spec of specs) {
    const key = buildKey(spec);
    if (out.has(key)) continue;
    out.set(key, await ensureBuiltImage(images, spec, base, { ...options, log }));
  }
  return out;
}

async function ensureBuiltImage(
  images: ImageClient,
  spec: BuildImageSpec,
  base: { ref: string; id: string },
  options: BuildContextOptions & { log: (line: string) => void },
): Promise<BuiltImage> {
  const started = performance.now();
  const fail = (message: string, cause?: unknown) =>
    new AcklabError(`${spec.origin}: image "${spec.name}" (build: ${spec.context}): ${message}`, 1, cause === undefined ? undefined : { cause });
  let files: ContextFile[];
  try {
    files = await readBuildContext(spec.context);
  } catch (err) {
    throw fail(`cannot read the build context: ${errorMessage(err)}`, err);
  }
  const dockerfile = files.find((f) => f.path === 'Dockerfile');
  if (!dockerfile) throw fail('the folder has no Dockerfile');
  const buildArgs = { ...spec.buildArgs, [BASE_ARG]: base.ref };

  // Every image a FROM names must be here already: the engine would otherwise try a registry.
  const ids: string[] = [];
  for (const from of dockerfileFroms(dockerfile.content.toString(), buildArgs)) {
    if (!from.needsImage) continue;
    if (from.ref === undefined) {
      throw fail(`Dockerfile:${from.line}: "${from.text}" uses a build argument with no value; acklab passes ${BASE_ARG} (its Debian base): write ARG ${BASE_ARG} and FROM \${${BASE_ARG}}`);
    }
    const info = await images.inspect(from.ref);
    if (!info) {
      throw fail(
        `Dockerfile:${from.line}: "${from.text}": image ${from.ref} is not on this Docker engine, and acklab pulls nothing; ` +
          `build FROM acklab's Debian base: ARG ${BASE_ARG} and FROM \${${BASE_ARG}}`,
      );
    }
    ids.push(info.id);
  }
  const hash = contentHash({ files, buildArgs, baseImageId: [base.id, ...ids].join(',') });
  const tag = buildImageTag(spec.name, hash);
  const key = buildKey(spec);
  const existing = await images.inspect(tag);
  if (existing && !options.rebuild) {
    options.log(`${tag} is up to date (${spec.context})`);
    return { key, name: spec.name, tag, hash, base, built: false, seconds: (performance.now() - started) / 1000, sizeBytes: existing.sizeBytes };
  }
  options.log(`building ${tag} from ${spec.context} (${BASE_ARG}=${base.ref})${options.rebuild ? ' (--rebuild: no layer cache)' : ''}`);
  try {
    await buildContextFiles(images, spec.name, files, {
      tag,
      hash,
      buildArgs,
      noCache: options.rebuild === true,
      log: options.log,
      verbose: options.verbose === true,
    });
  } catch (err) {
    throw fail(errorMessage(err), err);
  }
  await images.tag(tag, `${BUILD_REPO_PREFIX}${spec.name}`, 'latest');
  const sizeBytes = (await images.inspect(tag))?.sizeBytes ?? 0;
  const seconds = (performance.now() - started) / 1000;
  options.log(`built ${tag} in ${seconds.toFixed(1)} s, ${(sizeBytes / 1e6).toFixed(0)} MB`);
  return { key, name: spec.name, tag, hash, base, built: true, seconds, sizeBytes };
}
