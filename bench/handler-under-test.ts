/**
 * The message pipeline as createRuntimeHandler wires it (real configuration parsing, secret
 * store, delivery over real HTTP, logger), except that log lines are serialized and then dropped
 * instead of written to the bench's own stdout. Secrets come from the environment: a warm
 * function serves them from its cache anyway (the cold-start measurement covers Secrets Manager).
 */
import { parseConfig } from '../lib/config.js';
import { createDelivery } from '../lib/delivery/index.js';
import { createLogger } from '../lib/logger.js';
import { createMessageRequestHandler, type MessageRequestHandler } from '../lib/process-request.js';
import { createSecretStore } from '../lib/secrets/index.js';

/** Builds the pipeline from `env`. @throws Error when `env` is not a valid configuration. */
export function createHandlerUnderTest(env: Record<string, string>): MessageRequestHandler {
  const parsed = parseConfig(env);
  if (!parsed.ok) throw new Error(`bench configuration is invalid: ${parsed.problems.join('; ')}`);
  const { config } = parsed;
  // createLogger serializes each line before handing it over: only the write is skipped.
  const logger = createLogger(config.logLevel, () => {});
  const secrets = createSecretStore({ config });
  const delivery = createDelivery({ config, secrets, logger });
  return createMessageRequestHandler({ config, secrets, delivery, logger });
}
