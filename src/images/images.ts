/**
 * Builds acklab's images when their inputs changed, and only then. Each image's build context is
 * assembled in memory (Dockerfile + bundled programs, or Dockerfile + helper sources), hashed
 * together with the base image id, and tagged `repo:<hash>`; an existing tag means nothing to do.
 * Builds go through the engine API (dockerode, classic builder), so no buildx is needed.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AcklabError, createLabels, errorMessage, labelFilter } from '../common/index.js';
import { dockerRuntime, type ImageClient, type Runtime } from '../runtime/index.js';
import { bootstrapDebianBase } from './bootstrap.js';
import { agentBundle, programBundles } from './bundle.js';
import { contentHash, type ContextFile } from './content-hash.js';
import { BOOTSTRAP_BASE, BUILD_REPO_PREFIX, DEFAULT_BASES, IMAGE_REPOS, IMAGE_ROLES, chooseBase, imageTag, type BaseStep, type ImageRole } from './plan.js';

export interface EnsureImagesOptions {
  /** Build again without the layer cache even when the tag exists. */
  rebuild?: boolean;
  /** Per-role base image (`bootstrap` for the bootstrapped Debian base); default: DEFAULT_BASES. */
  baseImages?: Partial<Record<ImageRole, string>>;
  /** Progress lines; default: none (the CLI passes one that prints to stderr). */
  log?: (line: string) => void;
  /** Every line of the build output, not only the steps. */
  verbose?: boolean;
  runtime?: Runtime;
  repoRoot?: string;
  /** Also tag each built image `repo:latest` (default true; tests building from altered sources say false). */
  tagLatest?: boolean;
}

export interface ImageResult {
  role: ImageRole;
  tag: string;
  hash: string;
  base: { ref: string; id: string };
  /** True when this call built it; false when the tag was already there. */
  built: boolean;
  seconds: number;
  sizeBytes: number;
}

export type ImageTags = { node: string; shaper: string };

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Library use is silent unless the caller asks for progress. */
const defaultLog = (): void => {};

/** Makes sure both images exist for the current sources; returns their content-hash tags. */
export async function ensureImages(options: EnsureImagesOptions = {}): Promise<ImageTags> {
  const results = await buildImages(options);
  return { node: results.node.tag, shaper: results.shaper.tag };
}

/** As ensureImages, with what happened to each image (for the CLI and the measurements). */
export async function buildImages(options: EnsureImagesOptions = {}): Promise<Record<ImageRole, ImageResult>> {
  const runtime = options.runtime ?? dockerRuntime();
  const images = runtime.images;
  const log = options.log ?? defaultLog;
  const root = options.repoRoot ?? REPO_ROOT;
  await runtime.engine.facts();

  const contexts = await buildContexts(root);
  const bases = await resolveBases(images, options.baseImages ?? {}, log);

  const results = await Promise.all(
    IMAGE_ROLES.map(async (role): Promise<ImageResult> => {
      const started = performance.now();
      const base = bases[role];
      const buildArgs = { BASE: base.ref };
      const hash = contentHash({ files: contexts[role], buildArgs, baseImageId: base.id });
      const tag = imageTag(role, hash);
      const existing = await images.inspect(tag);
      if (existing && !options.rebuild) {
        log(`${tag} is up to date (base ${base.ref})`);
        return { role, tag, hash, base, built: false, seconds: (performance.now() - started) / 1000, sizeBytes: existing.sizeBytes };
      }
      log(`building ${tag} from ${base.ref}${options.rebuild ? ' (--rebuild: no layer cache)' : ''}`);
      await buildOne(images, role, contexts[role], { tag, hash, buildArgs, noCache: options.rebuild === true, log, verbose: options.verbose === true });
      if (options.tagLatest !== false) await images.tag(tag, IMAGE_REPOS[role], 'latest');
      const info = await images.inspect(tag);
      const sizeBytes = info?.sizeBytes ?? 0;
      const seconds = (performance.now() - started) / 1000;
      log(`built ${tag} in ${seconds.toFixed(1)} s, ${(sizeBytes / 1e6).toFixed(0)} MB`);
      return { role, tag, hash, base, built: true, seconds, sizeBytes };
    }),
  );
  return { node: results[0] as ImageResult, shaper: results[1] as ImageResult };
}

export interface ImagePlan {
  role: ImageRole;
  step: BaseStep;
  /** Known only when the base is present (its id is part of the hash). */
  tag?: string;
  present: boolean;
}

/** What ensureImages would do, without pulling, bootstrapping or building (for `doctor`). */
export async function planImages(options: Pick<EnsureImagesOptions, 'runtime' | 'repoRoot' | 'baseImages'> = {}): Promise<ImagePlan[]> {
  const images = (options.runtime ?? dockerRuntime()).images;
  const contexts = await buildContexts(options.repoRoot ?? REPO_ROOT);
  const presence = await basePresence(images, options.baseImages ?? {});
  return Promise.all(
    IMAGE_ROLES.map(async (role): Promise<ImagePlan> => {
      const step = chooseBase(role, options.baseImages?.[role], (ref) => presence.has(ref));
      if (step.action !== 'use') return { role, step, present: false };
      const id = presence.get(step.ref) as string;
      const tag = imageTag(role, contentHash({ files: contexts[role], buildArgs: { BASE: step.ref }, baseImageId: id }));
      return { role, step, tag, present: await images.exists(tag) };
    }),
  );
}

/** Helper sources only: a locally compiled acklab-nfq or *.o must not change the hash or land in the context. */
const HELPER_SOURCE = /(\.c|\.h|\.mk|\/[Mm]akefile)$/;

/** The build context of each image, in memory. */
export async function buildContexts(root: string): Promise<Record<ImageRole, ContextFile[]>> {
  const dockerDir = path.join(root, 'docker');
  const bundles = await programBundles(root);
  const node: ContextFile[] = [
    await contextFile(path.join(dockerDir, 'node/Dockerfile'), 'Dockerfile'),
    ...bundles.map((b) => ({ path: `bin/${b.fileName}`, mode: 0o755, content: b.code })),
  ];
  const agent = await agentBundle(root);
  const shaper: ContextFile[] = [
    await contextFile(path.join(dockerDir, 'shaper/Dockerfile'), 'Dockerfile'),
    { path: `bin/${agent.fileName}`, mode: 0o755, content: agent.code },
    ...(await directoryFiles(path.join(dockerDir, 'shaper/helper'), 'helper')).filter((f) => HELPER_SOURCE.test(f.path)),
  ];
  return { node, shaper };
}

async function contextFile(file: string, name: string): Promise<ContextFile> {
  try {
    const [content, info] = await Promise.all([readFile(file), stat(file)]);
    return { path: name, mode: info.mode, content };
  } catch (err) {
    throw new AcklabError(`cannot read ${file}: ${errorMessage(err)}`, 1, { cause: err });
  }
}

/** Every regular file under `dir` (absent dir → none), as context files under `prefix/`. */
async function directoryFiles(dir: string, prefix: string): Promise<ContextFile[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const files: ContextFile[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await directoryFiles(full, `${prefix}/${entry.name}`)));
    else if (entry.isFile()) files.push(await contextFile(full, `${prefix}/${entry.name}`));
  }
  return files;
}

/** Which candidate bases are present locally, ref → image id. */
async function basePresence(images: ImageClient, requested: Partial<Record<ImageRole, string>>): Promise<Map<string, string>> {
  const candidates = new Set<string>([BOOTSTRAP_BASE, ...Object.values(DEFAULT_BASES), ...Object.values(requested)]);
  const presence = new Map<string, string>();
  await Promise.all(
    [...candidates].map(async (ref) => {
      const info = await images.inspect(ref).catch(() => undefined);
      if (info) presence.set(ref, info.id);
    }),
  );
  return presence;
}

/**
 * The plain Debian base acklab builds on (the shaper's base: debian:bookworm-slim when present, else
 * the bootstrapped acklab/base-debian:bookworm, bootstrapped now if missing). Build contexts get it as
 * ACKLAB_BASE.
 */
export async function resolveDebianBase(images: ImageClient, log: (line: string) => void, requested?: string): Promise<{ ref: string; id: string }> {
  return (await resolveBases(images, requested === undefined ? {} : { shaper: requested }, log, ['shaper'])).shaper;
}

async function resolveBases(
  images: ImageClient,
  requested: Partial<Record<ImageRole, string>>,
  log: (line: string) => void,
  roles: readonly ImageRole[] = IMAGE_ROLES,
): Promise<Record<ImageRole, { ref: string; id: string }>> {
  const presence = await basePresence(images, requested);
  let bootstrap: Promise<{ ref: string; id: string }> | undefined;
  // One bootstrap serves both images, even when both ask for it at once.
  const bootstrapOnce = (): Promise<{ ref: string; id: string }> => {
    bootstrap ??= bootstrapDebianBase(images, log).then((r) => ({ ref: r.ref, id: r.id }));
    return bootstrap;
  };
  const resolved: Partial<Record<ImageRole, { ref: string; id: string }>> = {};
  // Sequential: both roles may need the same pull or bootstrap, and the messages stay in order.
  for (const role of roles) {
    const step = chooseBase(role, requested[role], (ref) => presence.has(ref));
    if (step.action === 'use') {
      resolved[role] = { ref: step.ref, id: presence.get(step.ref) as string };
    } else if (step.action === 'bootstrap') {
      resolved[role] = await bootstrapOnce();
    } else {
      const pulled = await tryPull(images, step.ref, log);
      if (pulled.ok) {
        presence.set(step.ref, pulled.id);
        resolved[role] = { ref: step.ref, id: pulled.id };
      } else if (step.onFailure === 'bootstrap') {
        log(`${role} base ${step.ref} is not present and cannot be pulled (${pulled.reason}); using a bootstrapped Debian base instead`);
        resolved[role] = await bootstrapOnce();
        presence.set(BOOTSTRAP_BASE, (resolved[role] as { id: string }).id);
      } else {
        throw new AcklabError(
          `${role} base image ${step.ref} is not present and cannot be pulled (${pulled.reason}). ` +
            `Load it (docker load / docker pull), or use --base-image ${role}=bootstrap`,
        );
      }
    }
  }
  return resolved as Record<ImageRole, { ref: string; id: string }>;
}

const PULL_TIMEOUT_MS = 300_000;

/**
 * ACKLAB_NO_PULL=1 keeps acklab from asking any registry (CI on a machine that has none, or a
 * policy that allows no outside traffic): a missing default base is then bootstrapped at once.
 */
export function pullDisabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ACKLAB_NO_PULL === '1' || env.ACKLAB_NO_PULL === 'true';
}

async function tryPull(images: ImageClient, ref: string, log: (line: string) => void): Promise<{ ok: true; id: string } | { ok: false; reason: string }> {
  if (pullDisabled()) return { ok: false, reason: 'pulling is turned off (ACKLAB_NO_PULL=1)' };
  log(`pulling ${ref}`);
  try {
    return { ok: true, id: await images.pull(ref, { timeoutMs: PULL_TIMEOUT_MS }) };
  } catch (err) {
    return { ok: false, reason: firstLine(errorMessage(err)) };
  }
}

export interface BuildSpec {
  tag: string;
  hash: string;
  buildArgs: Record<string, string>;
  noCache: boolean;
  log: (line: string) => void;
  verbose: boolean;
}

async function buildOne(images: ImageClient, role: ImageRole, files: ContextFile[], spec: BuildSpec): Promise<void> {
  // The helper directory is always in the context (COPY needs it), possibly empty.
  await buildContextFiles(images, role, files, spec, role === 'shaper' ? ['helper'] : []);
}

/**
 * Builds `files` (a build context held in memory, so what is built is exactly what was hashed) as
 * `spec.tag`, labelled as an acklab image with its content hash. `emptyDirs` are top-level folders
 * the context must have even when empty. Build output lines go to the log prefixed `[label]`.
 */
export async function buildContextFiles(images: ImageClient, label: string, files: ContextFile[], spec: BuildSpec, emptyDirs: string[] = []): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `acklab-build-${label.replace(/[^a-z0-9-]/gi, '-')}-`));
  try {
    for (const empty of emptyDirs) await mkdir(path.join(dir, empty), { recursive: true });
    for (const file of files) {
      const target = path.join(dir, file.path);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.content, { mode: file.mode & 0o777 });
    }
    const include = [...new Set([...files.map((f) => f.path.split('/')[0] as string), ...emptyDirs])];
    await images.build({
      contextDir: dir,
      include,
      tag: spec.tag,
      buildArgs: spec.buildArgs,
      labels: createLabels({ role: 'image', contentHash: spec.hash }),
      noCache: spec.noCache,
      onLine: (line) => {
        if (spec.verbose || /^Step \d+\/\d+ :/.test(line)) spec.log(`[${label}] ${line}`);
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.trim() ?? text;
}

/**
 * Removes older content-hash tags of acklab's images (labelled, in IMAGE_REPOS, and the images built
 * from build contexts, acklab/build-*), keeping `keep` and `latest`. An image a container still uses
 * is left (the engine refuses); returns what went.
 */
export async function pruneImages(keep: string[], options: Pick<EnsureImagesOptions, 'runtime' | 'log'> = {}): Promise<string[]> {
  const images = (options.runtime ?? dockerRuntime()).images;
  const log = options.log ?? defaultLog;
  const repos = new Set(Object.values(IMAGE_REPOS));
  const listed = await images.list(labelFilter({ role: 'image' }));
  const removed: string[] = [];
  for (const image of listed) {
    for (const ref of image.tags) {
      const [repo, tag] = splitRef(ref);
      // acklab's own images, and the images it built from topologies' build contexts
      if (!(repos.has(repo) || repo.startsWith(BUILD_REPO_PREFIX)) || tag === 'latest' || keep.includes(ref)) continue;
      // the newest build of a repository (its `latest`) keeps its content-hash tag, or the next use would build again
      if (image.tags.includes(`${repo}:latest`)) continue;
      try {
        await images.remove(ref);
        removed.push(ref);
      } catch (err) {
        log(`kept ${ref}: ${firstLine(errorMessage(err))}`);
      }
    }
  }
  if (removed.length > 0) log(`removed ${removed.length} older image tag(s): ${removed.join(', ')}`);
  return removed;
}

function splitRef(ref: string): [string, string] {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
}
