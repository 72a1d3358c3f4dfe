/**
 * A parsed YAML source that remembers positions: any field path can be turned into the
 * file:line:column of the value (or key) it names, so schema and semantic errors point at text.
 */
import { LineCounter, isMap, isSeq, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { FieldPath, TopologyIssue } from './issues.js';
import { formatPath } from './issues.js';

export class YamlSource {
  private readonly lines = new LineCounter();
  readonly doc: Document.Parsed;
  /** YAML syntax errors (bad indentation, duplicate keys, …), already positioned. */
  readonly syntaxIssues: TopologyIssue[];

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    this.syntaxIssues = this.doc.errors.map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      if (e.code === 'DUPLICATE_KEY') {
        const path = this.pathAtOffset(e.pos[0]);
        const name = path.split('.').pop() ?? '';
        return { file, line, column: col, path, message: `duplicate name "${name}"; names must be unique` };
      }
      // Other syntax errors: the path is unreliable while the YAML does not parse, so give none.
      return { file, line, column: col, path: '', message: `YAML syntax: ${firstLine(e.message)}` };
    });
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /**
   * An issue at `path`. With `key`, points at that key inside the map at `path` (unknown fields);
   * a path that does not exist (a missing field) points at its nearest existing parent.
   */
  issue(path: FieldPath, message: string, key?: string): TopologyIssue {
    let target: Node | undefined;
    let fullPath: FieldPath = path;
    if (key !== undefined) {
      const parent = this.nodeAt(path);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        if (pair && isScalar(pair.key)) target = pair.key;
      }
      fullPath = [...path, key];
    }
    for (let n = path.length; !target && n >= 0; n--) target = this.nodeAt(path.slice(0, n));
    const offset = target?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, path: formatPath(fullPath), message };
  }

  private nodeAt(path: FieldPath): Node | undefined {
    if (path.length === 0) return (this.doc.contents as Node | null) ?? undefined;
    const n = this.doc.getIn(path, true);
    return n && typeof n === 'object' && 'range' in (n as object) ? (n as Node) : undefined;
  }

  // Best effort for syntax errors: the path of the innermost map key/seq item containing offset.
  private pathAtOffset(offset: number): string {
    const path: (string | number)[] = [];
    let node: unknown = this.doc.contents;
    for (;;) {
      if (isMap(node)) {
        const pair = node.items.find((p) => {
          const k = p.key as Node | null;
          const v = p.value as Node | null;
          const start = k?.range?.[0] ?? v?.range?.[0] ?? Infinity;
          const end = v?.range?.[2] ?? k?.range?.[2] ?? -1;
          return offset >= start && offset <= end;
        });
        if (!pair || !isScalar(pair.key)) break;
        path.push(String(pair.key.value));
        if (((pair.key as Node).range?.[0] ?? -1) === offset) break;
        node = pair.value;
      } else if (isSeq(node)) {
        const i = node.items.findIndex((it) => {
          const r = (it as Node | null)?.range;
          return r != null && offset >= r[0] && offset <= r[2];
        });
        if (i < 0) break;
        path.push(i);
        node = node.items[i];
      } else break;
    }
    return formatPath(path);
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
}
