/**
 * The architecture, checked by dependency-cruiser on the real import graph of src/:
 *  - Docker (dockerode) is imported only in src/runtime;
 *  - folders form layers, and a folder imports only folders of lower layers (never its own
 *    layer's siblings, never one above) — so no two folders import each other;
 *  - no module imports itself back through a cycle;
 *  - src/index.ts, the package entry (`import … from 'acklab'`), sits on top of the library layers:
 *    it may import any of them but not the command line, and nothing in src/ imports it.
 * The layers, from the bottom: see LAYERS. The README's "Where things are" draws the same picture.
 */
import path from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Each src folder's layer; a folder may import only folders of a LOWER layer. */
export const LAYERS: Record<string, number> = {
  common: 0,
  programs: 1,
  conditions: 1,
  runtime: 1,
  topology: 2,
  images: 3,
  impair: 3,
  lab: 4,
  results: 5,
  doctor: 5,
  experiment: 6,
  report: 7,
  cli: 8,
};

function layerRules(): IForbiddenRuleType[] {
  const folders = Object.keys(LAYERS);
  return folders.flatMap((from) => {
    const notBelow = folders.filter((to) => to !== from && LAYERS[to]! >= LAYERS[from]!);
    if (notBelow.length === 0) return [];
    return [
      {
        name: `layer:${from}`,
        comment: `src/${from} (layer ${LAYERS[from]}) may import only lower layers`,
        severity: 'error' as const,
        from: { path: `^src/${from}/` },
        to: { path: `^src/(${notBelow.join('|')})/` },
      },
    ];
  });
}

const RULES: IForbiddenRuleType[] = [
  {
    name: 'docker-only-in-runtime',
    comment: 'the Docker API is reached through src/runtime only',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/runtime/' },
    to: { path: 'node_modules/(dockerode|docker-modem)/' },
  },
  { name: 'no-circular', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
  {
    name: 'no-unlayered-folder',
    comment: 'every folder of src/ has a place in LAYERS',
    severity: 'error',
    from: { path: `^src/(?!(${Object.keys(LAYERS).join('|')})/|index\\.ts$)` },
    to: {},
  },
  {
    name: 'entry-on-top',
    comment: 'src/index.ts is the package entry: nothing inside src/ imports it',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/index\\.ts$' },
    to: { path: '^src/index\\.ts$' },
  },
  {
    name: 'entry-without-cli',
    comment: 'the library entry does not pull in the command line (commander, verbs, process exit codes)',
    severity: 'error',
    from: { path: '^src/index\\.ts$' },
    to: { path: '^src/cli/' },
  },
  ...layerRules(),
];

let result: ICruiseResult;

beforeAll(async () => {
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const out = await cruise(['src'], {
      validate: true,
      ruleSet: { forbidden: RULES },
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
      tsConfig: { fileName: 'tsconfig.json' },
    });
    result = out.output as ICruiseResult;
  } finally {
    process.chdir(cwd);
  }
}, 60_000);

const violations = (rule: string | RegExp) =>
  result.summary.violations
    .filter((v) => (typeof rule === 'string' ? v.rule.name === rule : rule.test(v.rule.name)))
    .map((v) => `${v.from} -> ${v.to}${v.cycle ? ` (cycle: ${v.cycle.map((c) => c.name).join(' -> ')})` : ''}`);

describe('architecture', () => {
  it('reads the whole of src/ and resolves dockerode (so the rules can bite)', () => {
    const sources = result.modules.filter((m) => m.source.startsWith('src/'));
    expect(sources.length).toBeGreaterThan(80);
    expect(result.modules.some((m) => /node_modules\/dockerode\//.test(m.source))).toBe(true);
    expect(sources.find((m) => m.source === 'src/runtime/docker.ts')?.dependencies.some((d) => /dockerode/.test(d.resolved))).toBe(true);
  });

  it('imports Docker only in src/runtime', () => {
    expect(violations('docker-only-in-runtime')).toEqual([]);
  });

  it('has no import cycle', () => {
    expect(violations('no-circular')).toEqual([]);
  });

  it('places every folder of src/ in a layer', () => {
    expect(violations('no-unlayered-folder')).toEqual([]);
  });

  it('imports only downwards, layer by layer', () => {
    expect(violations(/^layer:/)).toEqual([]);
  });

  it('keeps the package entry on top of the library: nothing imports it, it imports no CLI code', () => {
    const entry = result.modules.find((m) => m.source === 'src/index.ts');
    expect(entry?.dependencies.some((d) => d.resolved === 'src/lab/index.ts')).toBe(true);
    expect(violations('entry-on-top')).toEqual([]);
    expect(violations('entry-without-cli')).toEqual([]);
  });
});
