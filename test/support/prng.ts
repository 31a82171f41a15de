/**
 * A small seeded PRNG (mulberry32) for the soak harness and the benchmarks: the same seed gives the same
 * messages, batches and fault draws, so a run can be reproduced from its printed seed.
 */

/** Returns a function giving uniform numbers in `[0, 1)`, determined by `seed`. */
export function createPrng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An integer in `[min, max]` drawn from `random`. */
export function intBetween(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}
