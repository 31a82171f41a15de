/**
 * Comparing a credential a sender presents with the configured ones, in constant time: the one
 * way every route does it (the inbound token, the Segment signature, the engagement path token).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether `given` is `expected`, in time that depends on neither: both are hashed to 32 bytes
 * first, so `compare` (`timingSafeEqual`, which itself throws on unequal lengths) always sees
 * two buffers of one length, and a length difference is only checked after it.
 */
export function equalSecrets(
  given: string,
  expected: string,
  compare: (a: Buffer, b: Buffer) => boolean = timingSafeEqual,
): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return compare(a, b) && given.length === expected.length;
}

/**
 * Compares `given` with every accepted value (no early exit, so timing says nothing about which
 * one matched, or whether a rotation's previous value is set). No accepted value: no match.
 */
export function matchesAny(
  given: string,
  accepted: readonly string[],
  equal: (given: string, expected: string) => boolean = equalSecrets,
): boolean {
  let matched = false;
  for (const value of accepted) matched = equal(given, value) || matched;
  return matched;
}
