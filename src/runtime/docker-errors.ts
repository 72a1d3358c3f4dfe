/** How Docker API errors become acklab errors: what failed, on which resource, and the engine's words. */
import { AcklabError } from '../common/index.js';

export const statusCode = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;

/** The engine's own message (its JSON body), else the error's. */
export function engineMessage(err: unknown): string {
  return (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);
}

/** A catch handler that rethrows as `docker: <what>: <engine message>`, keeping the cause. */
export const fail = (what: string) => (err: unknown): never => {
  throw new AcklabError(`docker: ${what}: ${engineMessage(err)}`, 1, { cause: err });
};

/** 404: already gone; 409: removal already in progress (a parallel `down`) — both fine for a removal. */
export function ignoreGone(err: unknown): void {
  if (statusCode(err) === 404 || statusCode(err) === 409) return;
  throw err;
}

export const short = (id: string) => id.slice(0, 12);

/** A create whose name is taken (HTTP 409): container names are claimed atomically by the engine. */
export class NameConflictError extends AcklabError {
  constructor(
    readonly resourceName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, 1, options);
    this.name = 'NameConflictError';
  }
}
