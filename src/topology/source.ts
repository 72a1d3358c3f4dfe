/**
 * A parsed YAML source that remembers positions: any field path can be turned into the
 * file:line:column of the value (or key) it names, so schema and semantic errors point at text.
 */
import { LineCounter, isAlias, isCollection, isMap, isPair, isSeq, isScalar, parseDocument, type Document, type Node } from 'yaml';
import type { FieldPath, TopologyIssue } from './issues.js';
import { formatPath } from './issues.js';

/**
 * At most this many values (keys, scalars, collections) once aliases are expanded: a few lines of
 * nested aliases (an "alias bomb") would otherwise expand into billions for whoever walks the data.
 */
export const MAX_YAML_VALUES = 100_000;

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
    const syntax = this.doc.errors.map((e) => {
      const { line, col } = this.lines.linePos(e.pos[0]);
      if (e.code === 'DUPLICATE_KEY') {
        const path = this.pathAtOffset(e.pos[0]);
        const name = path.split('.').pop() ?? '';
        return { file, line, column: col, path, message: `duplicate name "${name}"; names must be unique` };
      }
      // Other syntax errors: the path is unreliable while the YAML does not parse, so give none.
      return { file, line, column: col, path: '', message: `YAML syntax: ${firstLine(e.message)}` };
    });
    this.syntaxIssues = syntax.length > 0 ? syntax : this.aliasIssues();
  }

  /** The data; aliases share their anchor's value. Call only when syntaxIssues is empty. */
  toJS(): unknown {
    // aliasIssues() bounds the expansion with a position; yaml's own count is only the backstop.
    return this.doc.toJS({ maxAliasCount: -1 });
  }

  /**
   * Walks the document in order, counting every value as often as aliases repeat it; the alias at
   * which the count passes MAX_YAML_VALUES is the problem. An alias inside the value its anchor
   * names (a recursive alias) is refused too: nothing downstream could walk it.
   */
  private aliasIssues(): TopologyIssue[] {
    const anchors = new Map<string, unknown>();
    const sizes = new Map<unknown, number>();
    let total = 0;
    let problem: { offset: number; message: string } | undefined;
    const walk = (node: unknown): number => {
      if (problem) return 0;
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        const size = target === undefined ? 1 : sizes.get(target);
        const offset = node.range?.[0] ?? 0;
        if (size === undefined) {
          problem = { offset, message: `YAML alias *${node.source} is inside the value its anchor &${node.source} names (a recursive alias); acklab cannot expand it` };
          return 0;
        }
        total += size;
        if (total > MAX_YAML_VALUES) {
          problem = { offset, message: `YAML aliases expand the document to more than ${MAX_YAML_VALUES} values at *${node.source}; use fewer or smaller aliases` };
        }
        return size;
      }
      if (isPair(node)) return walk(node.key) + walk(node.value);
      const anchor = (node as { anchor?: string } | null)?.anchor;
      if (anchor) anchors.set(anchor, node);
      total += 1;
      let size = 1;
      if (isCollection(node)) for (const item of node.items) size += walk(item);
      if (anchor) sizes.set(node, size);
      return size;
    };
    try {
      walk(this.doc.contents);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      problem = { offset: 0, message: 'the YAML document is nested too deeply' };
    }
    if (!problem) return [];
    const { line, col } = this.lines.linePos(problem.offset);
    return [{ file: this.file, line, column: col, path: this.pathAtOffset(problem.offset), message: problem.message }];
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
