import { parseConfig } from './config.js';
import { createDelivery } from './delivery/index.js';
import { RetryLaterError } from './errors.js';
import { toResponse } from './http/responses.js';
import { createLogger } from './logger.js';
import { createMessageRequestHandler, type MessageRequestHandler } from './process-request.js';
import { createSecretStore } from './secrets/index.js';

/** How long a sender should wait before retrying while the configuration is broken. */
const BROKEN_CONFIG_RETRY_AFTER_SECONDS = 300;

/**
 * Wires the real dependencies from `env`, once per cold start. With invalid configuration it
 * logs every problem at once and returns a handler that answers 503 (the sender keeps its
 * events until an operator fixes the stage) instead of crashing.
 */
export function createRuntimeHandler(env: Record<string, string | undefined>): MessageRequestHandler {
  const parsed = parseConfig(env);
  if (!parsed.ok) {
    const logger = createLogger('INFO');
    logger.error('invalid configuration', { problems: parsed.problems });
    return async (route) => {
      logger.error('request refused: invalid configuration', {
        route: route.name,
        problems: parsed.problems,
      });
      return toResponse({
        kind: 'error',
        error: new RetryLaterError(503, 'invalid configuration', BROKEN_CONFIG_RETRY_AFTER_SECONDS),
      });
    };
  }
  const { config } = parsed;
  const logger = createLogger(config.logLevel);
  const secrets = createSecretStore({ config });
  const delivery = createDelivery({ config, secrets, logger });
  return createMessageRequestHandler({ config, secrets, delivery, logger });
}
