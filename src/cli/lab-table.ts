/** The node table printed by `up` and `ps`. */
import Table from 'cli-table3';

export interface NodeRow {
  lab?: string;
  owner?: string;
  name: string;
  kind: string;
  state: string;
  addresses: Record<string, string>;
}

export function nodeTable(rows: NodeRow[], { withLab = false, withOwner = false } = {}): string {
  const table = new Table({
    head: [...(withLab ? ['lab'] : []), ...(withOwner ? ['owner'] : []), 'node', 'kind', 'state', 'addresses'],
    style: { head: [], border: [] },
  });
  for (const r of rows) {
    const addresses = Object.entries(r.addresses).map(([net, ip]) => `${net}: ${ip}`).join('\n') || '-';
    table.push([...(withLab ? [r.lab ?? ''] : []), ...(withOwner ? [r.owner || '-'] : []), r.name, r.kind, r.state, addresses]);
  }
  return table.toString();
}
