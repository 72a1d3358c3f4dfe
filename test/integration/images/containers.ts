/**
 * Helpers for the image tests: a labelled network per test file, one-shot containers run to
 * completion, and cleanup by label (containers, then networks) that always runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLabels, labelFilter } from '../../../src/common/index.js';
import { processLabels } from '../../../src/lab/index.js';
import { dockerRuntime, type Runtime } from '../../../src/runtime/index.js';

process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

export interface TestSession {
  id: string;
  labels: Record<string, string>;
  runtime: Runtime;
}

export function newSession(area: string): TestSession {
  const id = `acklab-test-images-${area}-${randomBytes(4).toString('hex')}`;
  const runtime = dockerRuntime();
  // Owner and holder like a lab's: if this test process is killed, its watchdog removes them too.
  return { id, labels: createLabels({ role: 'test', session: id, ...processLabels(runtime) }), runtime };
}

/** A labelled network for the session; the engine picks the subnet, so parallel sessions never collide. */
export async function createNetwork(session: TestSession): Promise<string> {
  await session.runtime.networks.create({ name: session.id, labels: session.labels });
  return session.id;
}

/** Removes every container and network of this session (by label), whatever state they are in. */
export async function cleanupSession(session: TestSession): Promise<void> {
  const filter = labelFilter({ role: 'test', session: session.id });
  const containers = await session.runtime.containers.list(filter);
  await Promise.all(containers.map((c) => session.runtime.containers.remove(c.id).catch(() => undefined)));
  const networks = await session.runtime.networks.list(filter);
  await Promise.all(networks.map((n) => session.runtime.networks.remove(n.id).catch(() => undefined)));
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` in a fresh labelled container on `network` until it exits (bounded), and returns its exit code and logs. */
export async function runToCompletion(
  session: TestSession,
  image: string,
  cmd: string[],
  opts: { network?: string; alias?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const { containers } = session.runtime;
  const id = await containers.create({
    image,
    command: cmd,
    labels: session.labels,
    init: false,
    ...(opts.network ? { network: { id: opts.network, aliases: opts.alias ? [opts.alias] : [] } } : { networkMode: 'none' as const }),
  });
  await containers.start(id);
  let timer: NodeJS.Timeout | undefined;
  try {
    const exitCode = await Promise.race([
      containers.wait(id),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not exit within ${opts.timeoutMs ?? 60_000} ms`)), opts.timeoutMs ?? 60_000);
      }),
    ]).finally(() => clearTimeout(timer));
    return { exitCode, ...(await containerLogs(session, id)) };
  } finally {
    await containers.remove(id).catch(() => undefined);
  }
}

export async function containerLogs(session: TestSession, id: string): Promise<{ stdout: string; stderr: string }> {
  const { containers } = session.runtime;
  const [stdout, stderr] = await Promise.all([containers.logs(id, { stream: 'stdout' }), containers.logs(id, { stream: 'stderr' })]);
  return { stdout, stderr };
}

/** The NDJSON event lines of a program's stdout (`--events -`). */
export function events(stdout: string): Array<Record<string, unknown> & { event: string }> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { event: string });
}

/** Builds a small labelled image from Dockerfile lines (for bases the tests need); the caller removes the tag. */
export async function buildTestImage(session: TestSession, tag: string, dockerfile: string[]): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'acklab-test-images-ctx-'));
  try {
    await writeFile(path.join(dir, 'Dockerfile'), `${dockerfile.join('\n')}\n`);
    await session.runtime.images.build({ contextDir: dir, include: ['Dockerfile'], tag, buildArgs: {}, labels: session.labels });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
