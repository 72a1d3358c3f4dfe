/**
 * Helpers for the image tests: a labelled network per test file, one-shot containers run to
 * completion, and cleanup by label (containers, then networks) that always runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { createLabels, labelFilter } from '../../../src/common/index.js';
import { dockerClient } from '../../../src/runtime/docker.js';

process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';

export interface TestSession {
  id: string;
  labels: Record<string, string>;
  docker: Docker;
}

export function newSession(area: string): TestSession {
  const id = `acklab-test-images-${area}-${randomBytes(4).toString('hex')}`;
  return { id, labels: createLabels({ role: 'test', session: id }), docker: dockerClient() };
}

export async function createNetwork(session: TestSession): Promise<string> {
  await session.docker.createNetwork({ Name: session.id, Driver: 'bridge', Labels: session.labels, CheckDuplicate: true });
  return session.id;
}

/** Removes every container and network of this session (by label), whatever state they are in. */
export async function cleanupSession(session: TestSession): Promise<void> {
  const filters = { label: labelFilter({ role: 'test', session: session.id }) };
  const containers = await session.docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => session.docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  const networks = await session.docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => session.docker.getNetwork(n.Id).remove().catch(() => undefined)));
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
  const { docker } = session;
  const container = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Labels: session.labels,
    HostConfig: { NetworkMode: opts.network ?? 'none' },
    ...(opts.network && opts.alias ? { NetworkingConfig: { EndpointsConfig: { [opts.network]: { Aliases: [opts.alias] } } } } : {}),
  });
  await container.start();
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = (await Promise.race([
      container.wait(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${cmd.join(' ')} did not exit within ${opts.timeoutMs ?? 60_000} ms`)), opts.timeoutMs ?? 60_000);
      }),
    ]).finally(() => clearTimeout(timer))) as { StatusCode: number };
    const logs = await containerLogs(docker, container.id);
    return { exitCode: result.StatusCode, ...logs };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

export async function containerLogs(docker: Docker, id: string): Promise<{ stdout: string; stderr: string }> {
  const buffer = (await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false })) as Buffer;
  const out = { stdout: '', stderr: '' };
  let offset = 0;
  // Docker's multiplexed stream: 8-byte header (stream type, size), then the payload.
  while (offset + 8 <= buffer.length) {
    const stream = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    const text = buffer.subarray(offset + 8, offset + 8 + size).toString('utf8');
    if (stream === 2) out.stderr += text;
    else out.stdout += text;
    offset += 8 + size;
  }
  return out;
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
    const stream = (await session.docker.buildImage({ context: dir, src: ['Dockerfile'] }, { t: tag, labels: session.labels, rm: true, forcerm: true })) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) =>
      session.docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
        const failed = out?.find((o) => o.error);
        if (err || failed) reject(err ?? new Error(failed?.error));
        else resolve();
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
