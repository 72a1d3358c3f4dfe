/**
 * Seeded randomness. Every random choice acklab makes for an experiment (per-run seeds handed to
 * the impairment helper, a nemesis's groups) comes from an `Rng` derived from the experiment's
 * seed, so a run can be repeated exactly. Tests inject their own.
 */
import { createHash } from 'node:crypto';
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

export interface Rng {
  /** Integer in [min, max], both included. */
  int(min: number, max: number): number;
  /** Float in [0, 1). */
  float(): number;
}

export function createRng(seed: number): Rng {
  const gen: RandomGenerator = xoroshiro128plus(seed | 0);
  return {
    int: (min, max) => unsafeUniformIntDistribution(min, max, gen),
    float: () => unsafeUniformIntDistribution(0, 2 ** 31 - 1, gen) / 2 ** 31,
  };
}

/** A 32-bit seed for one part of an experiment (e.g. condition × repetition), stable across runs. */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  const hash = createHash('sha256').update(JSON.stringify([seed, ...parts])).digest();
  return hash.readUInt32BE(0);
}

/** A seeded Fisher–Yates shuffle (a new array). */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
