/**
 * Experiment-file problems. Positions come from the topology's YamlSource (src/topology/source.ts),
 * so experiments and topologies report errors the same way: `file:line:column: field.path: message`.
 */
import { AcklabError } from '../common/index.js';
import { formatIssue, type FieldPath, type TopologyIssue } from '../topology/issues.js';

export { YamlSource } from '../topology/source.js';
export type { FieldPath };
export type SourceIssue = TopologyIssue;

/** Every problem found in one experiment file, reported together (one line each). */
export class FileValidationError extends AcklabError {
  constructor(
    readonly file: string,
    readonly issues: SourceIssue[],
    options?: { cause?: unknown },
  ) {
    const n = issues.length;
    super(`experiment ${file} has ${n} problem${n === 1 ? '' : 's'}:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, 2, options);
    this.name = 'FileValidationError';
  }
}
