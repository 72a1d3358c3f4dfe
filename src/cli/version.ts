/** acklab's own version, from its package.json (two folders up from src/cli or dist/cli). */
import { readFileSync } from 'node:fs';

export function acklabVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
