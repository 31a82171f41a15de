import { defaultConfig, parseConfig } from './config.js';
import { createDelivery, secretFailure } from './delivery/index.js';
import { createLogger } from './logger.js';
import { createMetricsPublisher } from './metrics.js';
import { createMessageRequestHandler, type MessageRequestHandler } from './process-request.js';
import { createQueueWriter } from './queue/queue-writer.js';
import { createSecretStore } from './secrets/index.js';

/**
 * Wires the real dependencies from `env`, once per cold start. With invalid configuration it
 * logs every problem at once and returns a handler that answers 503 (the sender keeps its
 * events until an operator fixes the stage) instead of crashing.
 */
export function createRuntimeHandler(env: Record<string, string | undefined>): MessageRequestHandler {
  const parsed = parseConfig(env);
  // Powertools' own variable (the stack sets it per stage); read here so that a stage with broken
  // configuration still publishes its failures where the alarms look.
  const metrics = createMetricsPublisher({ namespace: env.POWERTOOLS_METRICS_NAMESPACE });
  if (!parsed.ok) {
    const logger = createLogger('INFO');
    logger.error('invalid configuration', { problems: parsed.problems });
    // The same pipeline, with nothing behind it but the refusal: each request is still decoded,
    // answered and logged like any other (summary line, "not delivered" line for the alarms).
    const unavailable = secretFailure(
      'invalid-configuration',
      'invalid configuration (the cold-start log line names each problem)',
    );
    const refuse = async (): Promise<never> => {
      throw unavailable;
    };
    return createMessageRequestHandler({
      config: defaultConfig(),
      secrets: { get: refuse, refresh: refuse },
      delivery: { deliver: refuse },
      logger,
      metrics,
    });
  }
  const { config } = parsed;
  const logger = createLogger(config.logLevel);
  const secrets = createSecretStore({ config });
  const delivery = createDelivery({ config, secrets, logger });
  const queue =
    config.deliveryMode === 'queued' && config.queueUrl !== undefined
      ? createQueueWriter({ queueUrl: config.queueUrl, logger })
      : undefined;
  return createMessageRequestHandler({ config, secrets, delivery, queue, logger, metrics });
}
