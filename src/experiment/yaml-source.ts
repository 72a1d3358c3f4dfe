/**
 * A parsed YAML file that remembers where every value came from, so that a validation issue at a
 * field path (`conditions[2].links[0].delay`) is reported as `file:line:column`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { AcklabError } from '../common/index.js';

export type FieldPath = readonly (string | number)[];

export interface SourceIssue {
  file: string;
  line: number;
  column: number;
  /** Field path in dotted form, e.g. `conditions[1].links[0].delay`; empty for the document root. */
  field: string;
  message: string;
}

/** Every problem found in one file, reported together (one line each) rather than the first only. */
export class FileValidationError extends AcklabError {
  constructor(
    readonly file: string,
    readonly issues: SourceIssue[],
    options?: { cause?: unknown },
  ) {
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n` + issues.map(formatIssue).join('\n'),
      1,
      options,
    );
    this.name = 'FileValidationError';
  }
}

export function formatIssue(issue: SourceIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.field ? `  ${where}: ${issue.field}: ${issue.message}` : `  ${where}: ${issue.message}`;
}

export function formatPath(path: FieldPath): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${key}` : key;
  return out;
}

export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Parses YAML text; syntax errors become a FileValidationError with their positions. */
  static parse(text: string, file: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const source = new YamlSource(file, doc, lines);
    if (doc.errors.length > 0) {
      throw new FileValidationError(
        file,
        doc.errors.map((e) => {
          const pos = lines.linePos(e.pos[0]);
          return { file, line: pos.line, column: pos.col, field: '', message: e.message.split('\n')[0] ?? e.code };
        }),
      );
    }
    return source;
  }

  /** The plain JavaScript value of the document. */
  value(): unknown {
    return this.doc.toJS();
  }

  /** The issue for a field path; points at the deepest node that exists (the key itself when `key` is set). */
  issue(path: FieldPath, message: string, key?: string): SourceIssue {
    const offset = this.offsetOf(path, key);
    const pos = this.lines.linePos(offset);
    const full = key === undefined ? path : [...path, key];
    return { file: this.file, line: pos.line, column: pos.col, field: formatPath(full), message };
  }

  private offsetOf(path: FieldPath, key?: string): number {
    let node: Node | null | undefined = this.doc.contents as Node | null;
    let offset = node?.range?.[0] ?? 0;
    for (const step of path) {
      const child = childOf(node, step);
      if (!child) return offset;
      node = child.value;
      offset = child.value?.range?.[0] ?? child.keyOffset ?? offset;
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return keyNode.range[0];
    }
    return offset;
  }
}

function childOf(node: Node | null | undefined, step: string | number): { value: Node | null; keyOffset?: number } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
    if (!pair) return undefined;
    const keyNode = pair.key as Node;
    return { value: (pair.value as Node | null) ?? null, keyOffset: keyNode.range?.[0] };
  }
  if (isSeq(node) && typeof step === 'number') {
    const item = node.items[step] as Node | undefined;
    return item ? { value: item } : undefined;
  }
  return undefined;
}
