import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The `shared/` folder beside the repository (corpus, conformance cases), read in place, never copied. */
export const SHARED_DIR = resolve(import.meta.dirname, '..', '..', '..', 'shared');

/**
 * Whether `shared/` is there. Tests that read it skip when it is absent and `CI` is not set
 * (`describe.skipIf(!sharedAvailable && !process.env.CI)`); under CI they run, and fail without it.
 */
export const sharedAvailable = existsSync(SHARED_DIR);

if (!sharedAvailable && !process.env.CI)
  console.info(`skipped: tests reading ${SHARED_DIR} (absent, CI unset)`);
