/** ImageClient over dockerode: build (classic builder, no buildx), pull, tag, list, remove, import, save/load. */
import type Docker from 'dockerode';
import { AcklabError, errorMessage } from '../common/index.js';
import { engineMessage, fail, statusCode } from './docker-errors.js';
import type { BuildSpec, ImageClient, ImageInfo } from './types.js';

/** Lines of build output kept for the error message when a build fails. */
const BUILD_TAIL_LINES = 40;

export class DockerImageClient implements ImageClient {
  constructor(private readonly docker: Docker) {}

  async exists(ref: string): Promise<boolean> {
    return (await this.inspect(ref)) !== undefined;
  }

  async inspect(ref: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.docker.getImage(ref).inspect();
      const info: ImageInfo = { id: i.Id, sizeBytes: i.Size, labels: i.Config?.Labels ?? {}, tags: i.RepoTags ?? [] };
      const list = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.map(String) : typeof v === 'string' && v !== '' ? [v] : undefined);
      const entrypoint = list(i.Config?.Entrypoint);
      const cmd = list(i.Config?.Cmd);
      if (entrypoint) info.entrypoint = entrypoint;
      if (cmd) info.cmd = cmd;
      return info;
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      return fail(`inspect image ${ref}`)(err);
    }
  }

  async list(labels: string[]): Promise<ImageInfo[]> {
    const list = await this.docker.listImages({ filters: { label: labels } }).catch(fail('list images'));
    return list.map((i) => ({ id: i.Id, sizeBytes: i.Size, labels: i.Labels ?? {}, tags: i.RepoTags ?? [] }));
  }

  async build(spec: BuildSpec): Promise<void> {
    const stream = (await this.docker
      .buildImage(
        { context: spec.contextDir, src: spec.include },
        { t: spec.tag, buildargs: spec.buildArgs, labels: spec.labels, rm: true, forcerm: true, nocache: spec.noCache ?? false },
      )
      .catch(fail(`build ${spec.tag}`))) as NodeJS.ReadableStream;
    const tail: string[] = [];
    await this.follow(stream, (event: { stream?: string; status?: string; error?: string }) => {
      // Colour codes (apt's error lines carry them) would be noise in messages and run folders.
      for (const line of (event.stream ?? event.status ?? event.error ?? '').replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > BUILD_TAIL_LINES) tail.shift();
        spec.onLine?.(line);
      }
    }).catch((err: unknown) => {
      throw new AcklabError(`building ${spec.tag} failed: ${errorMessage(err)}\nlast build output:\n${tail.join('\n')}`, 1, { cause: err });
    });
  }

  async pull(ref: string, options: { timeoutMs?: number } = {}): Promise<string> {
    const stream = (await this.docker.pull(ref).catch(fail(`pull ${ref}`))) as NodeJS.ReadableStream;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      if (options.timeoutMs !== undefined) timer = setTimeout(() => reject(new Error(`no answer in ${options.timeoutMs! / 1000} s`)), options.timeoutMs);
    });
    try {
      await Promise.race([this.follow(stream), timeout]);
    } finally {
      clearTimeout(timer);
    }
    const info = await this.inspect(ref);
    if (!info) throw new AcklabError(`docker: pull ${ref} finished but the image is not there`);
    return info.id;
  }

  async tag(ref: string, repo: string, tag: string): Promise<void> {
    await this.docker.getImage(ref).tag({ repo, tag }).catch(fail(`tag ${ref} as ${repo}:${tag}`));
  }

  async remove(ref: string): Promise<void> {
    await this.docker.getImage(ref).remove().catch(fail(`remove image ${ref}`));
  }

  async importRoot(tar: NodeJS.ReadableStream, options: { repo: string; tag: string; changes: string[] }): Promise<string> {
    const ref = `${options.repo}:${options.tag}`;
    const stream = (await this.docker
      .importImage(tar, { repo: options.repo, tag: options.tag, changes: options.changes } as object)
      .catch(fail(`import ${ref}`))) as NodeJS.ReadableStream;
    await this.follow(stream).catch(fail(`import ${ref}`));
    const info = await this.inspect(ref);
    if (!info) throw new AcklabError(`docker: import of ${ref} finished but the image is not there`);
    return info.id;
  }

  async save(refs: string[]): Promise<NodeJS.ReadableStream> {
    // GET /images/get?names=…: dockerode has it, its type declarations do not.
    const docker = this.docker as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> };
    return docker.getImages({ names: refs }).catch(fail(`save ${refs.join(', ')}`));
  }

  async load(tar: NodeJS.ReadableStream): Promise<void> {
    const stream = (await this.docker.loadImage(tar).catch(fail('load images'))) as NodeJS.ReadableStream;
    await this.follow(stream).catch(fail('load images'));
  }

  /** Waits for a progress stream; the first `error` event (or stream error) rejects with the engine's words. */
  private follow(stream: NodeJS.ReadableStream, onEvent?: (event: { stream?: string; status?: string; error?: string }) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, out: Array<{ error?: string }>) => {
          const failed = out?.find((o) => o.error);
          if (err || failed) reject(new Error(err ? engineMessage(err) : failed?.error));
          else resolve();
        },
        onEvent,
      );
    });
  }
}
