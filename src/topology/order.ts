/**
 * Start order. Nodes in one `group` (the mcast mesh) are one unit: members reach each other, so
 * they start together; everything else waits for what it depends on. Returns stages: each stage
 * starts in parallel once every node of the earlier stages is ready.
 */

export interface OrderInput {
  name: string;
  dependsOn: readonly string[];
  group?: string;
}

export class DependencyCycleError extends Error {
  constructor(readonly cycle: string[]) {
    super(`dependency cycle: ${cycle.join(' → ')}`);
    this.name = 'DependencyCycleError';
  }
}

export function startStages(nodes: readonly OrderInput[]): string[][] {
  const unitOf = new Map<string, string>();
  for (const n of nodes) unitOf.set(n.name, n.group === undefined ? `node:${n.name}` : `group:${n.group}`);
  const members = new Map<string, string[]>();
  const deps = new Map<string, Set<string>>();
  for (const n of nodes) {
    const u = unitOf.get(n.name)!;
    members.set(u, [...(members.get(u) ?? []), n.name]);
    const set = deps.get(u) ?? new Set<string>();
    for (const dep of n.dependsOn) {
      const du = unitOf.get(dep);
      if (du !== undefined && du !== u) set.add(du);
    }
    deps.set(u, set);
  }
  // Level = 1 + the deepest dependency, by DFS with cycle detection.
  const level = new Map<string, number>();
  const visiting: string[] = [];
  const visit = (u: string): number => {
    const known = level.get(u);
    if (known !== undefined) return known;
    const at = visiting.indexOf(u);
    if (at >= 0) throw new DependencyCycleError([...visiting.slice(at), u].map(label));
    visiting.push(u);
    let l = 0;
    for (const dep of deps.get(u) ?? []) l = Math.max(l, visit(dep) + 1);
    visiting.pop();
    level.set(u, l);
    return l;
  };
  const label = (u: string) => (u.startsWith('node:') ? u.slice(5) : `${u.slice(6)} group (${members.get(u)!.join(', ')})`);
  for (const u of members.keys()) visit(u);
  const stages: string[][] = [];
  // File order inside a stage keeps output stable.
  for (const n of nodes) {
    const l = level.get(unitOf.get(n.name)!)!;
    (stages[l] ??= []).push(n.name);
  }
  return stages.filter((s) => s !== undefined);
}
