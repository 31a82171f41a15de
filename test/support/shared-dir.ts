import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The team's shared folder beside the repository (`../shared`); a plain clone has none. */
export const SHARED_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared');

/**
 * Whether the tests that read `SHARED_DIR` run: when it exists, and always when `CI` is set (so
 * that its absence there fails instead of passing unnoticed). Elsewhere they skip, with a notice.
 */
export const sharedAvailable = existsSync(SHARED_DIR) || (process.env.CI ?? '') !== '';

if (!sharedAvailable)
  console.log(`skipping the tests that read ${SHARED_DIR}: it is absent and CI is not set`);
