/**
 * Topology problems, each pinned to file:line:column and a field path, collected (not thrown one
 * by one) so a student sees every mistake in one run.
 */
import { AcklabError } from '../common/index.js';

export type FieldPath = readonly (string | number)[];

export interface TopologyIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted field path, e.g. `nodes.client.args.server`; empty for the document itself. */
  path: string;
  /** What is wrong and what is allowed. */
  message: string;
}

export function formatIssue(issue: TopologyIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export function formatPath(path: FieldPath): string {
  // A key that is not a plain word ("", "A=B", "a.b") is quoted, so the path stays readable.
  const part = (p: string | number) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z0-9_-]+$/.test(p) ? p : `[${JSON.stringify(p)}]`);
  return path.map(part).join('.').replace(/\.\[/g, '[');
}

/** Thrown when a topology file has problems; `issues` holds all of them, in file order. */
export class TopologyError extends AcklabError {
  constructor(
    readonly issues: TopologyIssue[],
    options?: { cause?: unknown },
  ) {
    const n = issues.length;
    super(`topology has ${n} problem${n === 1 ? '' : 's'}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, 2, options);
    this.name = 'TopologyError';
  }
}
