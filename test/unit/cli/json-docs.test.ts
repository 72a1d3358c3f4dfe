/** Every field of every documented `--json` shape (src/cli/json-shapes.ts) is named in the README's "Machine-readable output". */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_SHAPES } from '../../../src/cli/json-shapes.js';

type Def = { type: string; shape?: Record<string, { _zod: { def: Def } }>; element?: { _zod: { def: Def } }; innerType?: { _zod: { def: Def } }; valueType?: { _zod: { def: Def } } };

/** Field names of a zod schema, nested objects and arrays included (record keys are free-form). */
function fields(def: Def): string[] {
  if (def.type === 'object') return Object.entries(def.shape ?? {}).flatMap(([k, v]) => [k, ...fields(v._zod.def)]);
  const inner = def.element ?? def.innerType ?? def.valueType;
  return inner ? fields(inner._zod.def) : [];
}

const readme = readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Machine-readable output'), readme.indexOf('\n## ', readme.indexOf('### Machine-readable output')));

describe('README documents every --json shape', () => {
  it('has the section, and the fields reach into nested objects and arrays', () => {
    expect(section.length).toBeGreaterThan(500);
    expect(fields(JSON_SHAPES.conditions._zod.def as unknown as Def)).toEqual(expect.arrayContaining(['lab', 'impairments', 'delayMs', 'side', 'problems']));
  });

  it.each(Object.entries(JSON_SHAPES))('%s --json: every field is named', (verb, shape) => {
    expect(section).toContain(`${verb} `);
    const missing = [...new Set(fields(shape._zod.def as unknown as Def))].filter((f) => !new RegExp(`\\b${f}\\b`).test(section));
    expect(missing).toEqual([]);
  });
});
