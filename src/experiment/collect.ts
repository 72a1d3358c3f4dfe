/**
 * Ending a run's workload and collecting what it wrote, before the lab is taken down: stop the
 * programs with SIGTERM (they write their summary on it), SIGKILL what ignores it, then copy out
 * stdout, stderr, the events file and the programs' files (getArchive works on stopped containers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { extract } from 'tar-stream';
import { demux, dockerClient } from '../runtime/index.js';
import { RUN_FILES, type NodeRecord } from './run-format.js';
import type { NodeOutputs } from './topology.js';


async function isRunning(docker: Docker, id: string): Promise<boolean> {
  try {
    return (await docker.getContainer(id).inspect()).State.Running;
  } catch {
    return false;
  }
}

/** SIGTERM every running container, wait up to `graceMs`, SIGKILL the rest. */
export async function stopContainers(ids: string[], graceMs: number, docker: Docker = dockerClient()): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      if (!(await isRunning(docker, id))) return;
      const c = docker.getContainer(id);
      await c.kill({ signal: 'SIGTERM' }).catch(() => {});
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && (await isRunning(docker, id))) await new Promise((r) => setTimeout(r, 100));
      if (await isRunning(docker, id)) await c.kill({ signal: 'SIGKILL' }).catch(() => {});
    }),
  );
}

/** The exit codes of containers that have exited (null: still running or gone). */
export async function exitCode(id: string, docker: Docker = dockerClient()): Promise<number | null> {
  try {
    const info = await docker.getContainer(id).inspect();
    return info.State.Running ? null : info.State.ExitCode;
  } catch {
    return null;
  }
}

async function logsOf(docker: Docker, id: string, stream: 'stdout' | 'stderr'): Promise<string> {
  const buf = (await docker.getContainer(id).logs({ stdout: stream === 'stdout', stderr: stream === 'stderr', follow: false })) as unknown as Buffer;
  return demux(buf);
}

/** One file out of a container (running or stopped); undefined when it does not exist. */
export async function copyFileOut(id: string, containerPath: string, docker: Docker = dockerClient()): Promise<Buffer | undefined> {
  let archive: NodeJS.ReadableStream;
  try {
    archive = (await docker.getContainer(id).getArchive({ path: containerPath })) as NodeJS.ReadableStream;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined;
    throw err;
  }
  return new Promise((resolve, reject) => {
    const tar = extract();
    let content: Buffer | undefined;
    tar.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.type === 'file' && content === undefined) content = Buffer.concat(chunks);
        next();
      });
      stream.resume();
    });
    tar.on('finish', () => resolve(content));
    tar.on('error', reject);
    archive.pipe(tar);
  });
}

export interface NodeToCollect {
  name: string;
  kind: string;
  containerId: string;
  addresses: Record<string, string>;
  command: string[];
  outputs: NodeOutputs;
}

/**
 * Writes nodes/<node>/{stdout.log,stderr.log,events.ndjson,files/…} and returns the node's record.
 * Never throws for one missing piece: what could not be copied is listed in `problems`.
 */
export async function collectNode(runDir: string, node: NodeToCollect, problems: string[], docker: Docker = dockerClient()): Promise<NodeRecord> {
  const rel = (...p: string[]) => path.join(RUN_FILES.nodesDir, node.name, ...p);
  const dir = path.join(runDir, rel());
  await mkdir(dir, { recursive: true });
  const record: NodeRecord = {
    name: node.name,
    kind: node.kind,
    containerId: node.containerId,
    addresses: node.addresses,
    command: node.command,
    exitCode: await exitCode(node.containerId, docker),
    files: { stdout: rel(RUN_FILES.stdout), stderr: rel(RUN_FILES.stderr), events: rel(RUN_FILES.events), extra: [] },
  };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${node.name}: could not collect ${what}: ${(err as Error).message}`);
    }
  };
  let stdout = '';
  await attempt('stdout', async () => {
    stdout = await logsOf(docker, node.containerId, 'stdout');
    await writeFile(path.join(runDir, record.files.stdout), stdout);
  });
  await attempt('stderr', async () => writeFile(path.join(runDir, record.files.stderr), await logsOf(docker, node.containerId, 'stderr')));
  await attempt('events', async () => {
    const events = node.outputs.events === null
      ? Buffer.from(stdout.split('\n').filter((l) => l.startsWith('{"ts":')).map((l) => `${l}\n`).join(''))
      : await copyFileOut(node.containerId, node.outputs.events, docker);
    if (events !== undefined) await writeFile(path.join(runDir, record.files.events), events);
    else if (programWroteEvents(node)) problems.push(`${node.name}: no events file (${node.outputs.events}); the program did not start?`);
  });
  for (const [name, containerPath] of Object.entries(node.outputs.files)) {
    await attempt(name, async () => {
      const content = await copyFileOut(node.containerId, containerPath, docker);
      if (content === undefined) return;
      const file = rel(RUN_FILES.filesDir, name);
      await mkdir(path.dirname(path.join(runDir, file)), { recursive: true });
      await writeFile(path.join(runDir, file), content);
      record.files.extra.push(file);
    });
  }
  return record;
}

function programWroteEvents(node: NodeToCollect): boolean {
  return node.outputs.events !== null;
}
