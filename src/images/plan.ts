/**
 * What acklab builds, from which base, decided by pure functions (unit-tested): the image roles,
 * their repositories and default bases, and the choice between a local base, a pull, and a
 * locally bootstrapped Debian base when no registry answers.
 */
import { UsageError } from '../common/index.js';

export const IMAGE_ROLES = ['node', 'shaper'] as const;
export type ImageRole = (typeof IMAGE_ROLES)[number];

/** Image repositories; tags are content hashes (plus `latest` for the newest build). */
export const IMAGE_REPOS: Readonly<Record<ImageRole, string>> = { node: 'acklab/node', shaper: 'acklab/shaper' };

/** Repositories of images built from build contexts (`build:` in topologies): `acklab/build-<name>:<hash>`. */
export const BUILD_REPO_PREFIX = 'acklab/build-';

/** The public tags the Dockerfiles default to (their `ARG BASE`). */
export const DEFAULT_BASES: Readonly<Record<ImageRole, string>> = {
  node: 'node:20-bookworm-slim',
  shaper: 'debian:bookworm-slim',
};

/** Debian release of the bootstrapped base (its nodejs is Node 18, which the programs support). */
export const BOOTSTRAP_SUITE = 'bookworm';
/** The locally bootstrapped base, shared by both images; the node Dockerfile adds Debian's nodejs to it. */
export const BOOTSTRAP_BASE = `acklab/base-debian:${BOOTSTRAP_SUITE}`;
/** `--base-image bootstrap` (or `ROLE=bootstrap`) forces the bootstrapped base. */
export const BOOTSTRAP_KEYWORD = 'bootstrap';

export type BaseStep =
  /** The image is present locally: use it. */
  | { action: 'use'; ref: string }
  /** Not present: pull it; when that fails, bootstrap (default bases) or fail (a base the user named). */
  | { action: 'pull'; ref: string; onFailure: 'bootstrap' | 'fail' }
  /** Bootstrap the Debian base with debootstrap + docker import. */
  | { action: 'bootstrap'; ref: string };

/**
 * Chooses the base for `role`. With no request: the default tag if present, else an earlier
 * bootstrapped base (so a registry-less machine never waits on a pull again), else pull the
 * default and bootstrap if that fails. A requested base is used or pulled, never silently replaced.
 */
export function chooseBase(role: ImageRole, requested: string | undefined, isPresent: (ref: string) => boolean): BaseStep {
  if (requested === BOOTSTRAP_KEYWORD) {
    return isPresent(BOOTSTRAP_BASE) ? { action: 'use', ref: BOOTSTRAP_BASE } : { action: 'bootstrap', ref: BOOTSTRAP_BASE };
  }
  if (requested !== undefined) {
    return isPresent(requested) ? { action: 'use', ref: requested } : { action: 'pull', ref: requested, onFailure: 'fail' };
  }
  const preferred = DEFAULT_BASES[role];
  if (isPresent(preferred)) return { action: 'use', ref: preferred };
  if (isPresent(BOOTSTRAP_BASE)) return { action: 'use', ref: BOOTSTRAP_BASE };
  return { action: 'pull', ref: preferred, onFailure: 'bootstrap' };
}

/**
 * Parses repeated `--base-image` values: `ROLE=IMAGE` (ROLE one of node, shaper) or `bootstrap`
 * (both roles use the bootstrapped Debian base).
 */
export function parseBaseImageOptions(values: readonly string[]): Partial<Record<ImageRole, string>> {
  const result: Partial<Record<ImageRole, string>> = {};
  for (const value of values) {
    if (value === BOOTSTRAP_KEYWORD) {
      for (const role of IMAGE_ROLES) result[role] = BOOTSTRAP_KEYWORD;
      continue;
    }
    const eq = value.indexOf('=');
    const role = value.slice(0, eq);
    const ref = value.slice(eq + 1).trim();
    if (eq <= 0 || !isImageRole(role) || ref === '') {
      throw new UsageError(
        `--base-image "${value}": expected ROLE=IMAGE with ROLE one of ${IMAGE_ROLES.join(', ')} ` +
          `(e.g. node=node:20-bookworm-slim), ROLE=${BOOTSTRAP_KEYWORD}, or ${BOOTSTRAP_KEYWORD}`,
      );
    }
    if (/\s/.test(ref)) throw new UsageError(`--base-image "${value}": an image reference has no blanks`);
    result[role] = ref;
  }
  return result;
}

export function isImageRole(value: string): value is ImageRole {
  return (IMAGE_ROLES as readonly string[]).includes(value);
}

/** `repo:hash`, the tag an image with these inputs has. */
export function imageTag(role: ImageRole, hash: string): string {
  return `${IMAGE_REPOS[role]}:${hash}`;
}
