/**
 * The Docker engine as acklab sees it: reachable or not, and the facts `doctor` reports.
 * Installing/starting an engine is scripts/ensure-engine.sh's job (it runs before node does).
 */
import type Docker from 'dockerode';
import { AcklabError, errorMessage } from '../common/index.js';

export interface EngineFacts {
  version: string;
  apiVersion: string;
  storageDriver: string;
  cgroupVersion: string;
  cgroupDriver: string;
  kernelVersion: string;
  operatingSystem: string;
  /** Where the client talks to: DOCKER_HOST or the default socket. */
  host: string;
}

export function engineHost(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
}

export async function engineFacts(docker: Docker): Promise<EngineFacts> {
  try {
    const [version, info] = await Promise.all([docker.version(), docker.info() as Promise<Record<string, unknown>>]);
    return {
      version: version.Version,
      apiVersion: version.ApiVersion,
      storageDriver: String(info.Driver ?? 'unknown'),
      cgroupVersion: String(info.CgroupVersion ?? 'unknown'),
      cgroupDriver: String(info.CgroupDriver ?? 'unknown'),
      kernelVersion: String(info.KernelVersion ?? 'unknown'),
      operatingSystem: String(info.OperatingSystem ?? 'unknown'),
      host: engineHost(),
    };
  } catch (err) {
    throw new AcklabError(
      `no Docker engine answers at ${engineHost()} (${errorMessage(err)}): run scripts/ensure-engine.sh ` +
        '(make lab and make test run it), or set DOCKER_HOST to a running engine',
      1,
      { cause: err },
    );
  }
}
