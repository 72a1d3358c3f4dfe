/**
 * Ending a run's workload and collecting what it wrote, before the lab is taken down: stop the
 * programs (SIGTERM, then SIGKILL after a grace: they write their summary on SIGTERM), then copy
 * out stdout, stderr, the events file and the programs' files (copy-out works on stopped containers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../common/index.js';
import { RUN_FILES, type NodeRecord } from '../results/index.js';
import type { ContainerClient } from '../runtime/index.js';
import { CONTAINER_OUT, type NodeOutputs } from './topology.js';

/** Earlier starts of one node looked for (a timeline restarting a node more often is kept up to here). */
const MAX_EARLIER = 50;

/** SIGTERM every container, SIGKILL what is still running after `graceMs`; in parallel. */
export async function stopContainers(containers: ContainerClient, ids: string[], graceMs: number): Promise<void> {
  await Promise.all(ids.map((id) => containers.stop(id, graceMs).catch(() => undefined)));
}

/** The exit code of a container that has exited (null: still running, or gone). */
async function exitCodeOf(containers: ContainerClient, id: string): Promise<number | null> {
  try {
    const info = await containers.inspect(id);
    return info.running ? null : info.exitCode;
  } catch {
    return null;
  }
}

export interface NodeToCollect {
  name: string;
  kind: string;
  containerId: string;
  addresses: Record<string, string>;
  command: string[];
  env?: Record<string, string>;
  outputs: NodeOutputs;
  /** The timeline started it again (start/restart): the earlier starts' outputs are collected too. */
  startedAgain?: boolean;
}

/**
 * Writes nodes/<node>/{stdout.log,stderr.log,events.ndjson,files/…} and returns the node's record.
 * Never throws for one missing piece: what could not be copied is listed in `problems`.
 */
export async function collectNode(containers: ContainerClient, runDir: string, node: NodeToCollect, problems: string[]): Promise<NodeRecord> {
  const rel = (...p: string[]) => path.join(RUN_FILES.nodesDir, node.name, ...p);
  await mkdir(path.join(runDir, rel()), { recursive: true });
  const record: NodeRecord = {
    name: node.name,
    kind: node.kind,
    containerId: node.containerId,
    addresses: node.addresses,
    command: node.command,
    ...(node.env && Object.keys(node.env).length > 0 ? { env: node.env } : {}),
    exitCode: await exitCodeOf(containers, node.containerId),
    files: { stdout: rel(RUN_FILES.stdout), stderr: rel(RUN_FILES.stderr), events: rel(RUN_FILES.events), extra: [] },
  };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${node.name}: could not collect ${what}: ${errorMessage(err)}`);
    }
  };
  let stdout = '';
  await attempt('stdout', async () => {
    stdout = await containers.logs(node.containerId, { stream: 'stdout' });
    await writeFile(path.join(runDir, record.files.stdout), stdout);
  });
  await attempt('stderr', async () => writeFile(path.join(runDir, record.files.stderr), await containers.logs(node.containerId, { stream: 'stderr' })));
  await attempt('events', async () => {
    const events =
      node.outputs.events === null
        ? Buffer.from(stdout.split('\n').filter((l) => l.startsWith('{"ts":')).map((l) => `${l}\n`).join(''))
        : await containers.copyFileOut(node.containerId, node.outputs.events);
    if (events !== undefined) await writeFile(path.join(runDir, record.files.events), events);
    else if (node.outputs.events !== null) problems.push(`${node.name}: no events file (${node.outputs.events}); the program did not start?`);
  });
  for (const [name, containerPath] of Object.entries(node.outputs.files)) {
    await attempt(name, async () => {
      const content = await containers.copyFileOut(node.containerId, containerPath);
      if (content === undefined) return;
      const file = rel(RUN_FILES.filesDir, name);
      await mkdir(path.dirname(path.join(runDir, file)), { recursive: true });
      await writeFile(path.join(runDir, file), content);
      record.files.extra.push(file);
    });
  }
  if (node.startedAgain) await attempt('earlier starts', async () => {
    // a node the timeline started again: what each earlier start wrote, kept aside by its wrapper
    const outputs = [...(node.outputs.events === null ? [] : [node.outputs.events]), ...Object.values(node.outputs.files)];
    for (let n = 1; n <= MAX_EARLIER; n++) {
      let found = false;
      for (const containerPath of outputs) {
        const content = await containers.copyFileOut(node.containerId, `${CONTAINER_OUT.earlier}/${n}/${path.posix.basename(containerPath)}`);
        if (content === undefined) continue;
        found = true;
        const file = rel(RUN_FILES.earlierDir, String(n), path.posix.basename(containerPath));
        await mkdir(path.dirname(path.join(runDir, file)), { recursive: true });
        await writeFile(path.join(runDir, file), content);
        record.files.extra.push(file);
      }
      if (!found) break;
      record.starts = n + 1;
    }
  });
  return record;
}
