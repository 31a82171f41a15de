/**
 * The message pipeline as createRuntimeHandler wires it (real configuration parsing, secret
 * store, delivery over real HTTP, logger, metrics), except that log and metric lines are
 * serialized and then dropped instead of written to the bench's own stdout. Secrets come from
 * the environment: a warm function serves them from its cache anyway (the cold-start
 * measurement covers Secrets Manager).
 */
import { parseConfig } from '../lib/config.js';
import type { MessageRequestHandler } from '../lib/ingest/request-handler.js';
import { createRuntime } from '../lib/runtime.js';

/** Builds the pipeline from `env`. @throws Error when `env` is not a valid configuration. */
export function createHandlerUnderTest(env: Record<string, string>): MessageRequestHandler {
  const parsed = parseConfig(env);
  if (!parsed.ok) throw new Error(`bench configuration is invalid: ${parsed.problems.join('; ')}`);
  // The logger and the metrics serialize each line before handing it over: only the write is skipped.
  return createRuntime(parsed.config, { write: () => {} }).handler;
}
