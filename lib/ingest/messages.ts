/** The messages of a request body, and their translation into the events to hand on. */
import { BadRequestError, TooManyMessagesError } from '../errors.js';
import { MAX_MESSAGES_PER_REQUEST } from '../limits.js';
import { LogMessage } from '../log-messages.js';
import type { Reports, RequestSummary } from '../request/request-state.js';
import { messageReport as report } from '../request/responses.js';
import type { DeliveryItem } from '../schemas/delivery-item.js';
import { extractMessages, messageIdOf, type TranslateOptions, translateMessage } from '../translate/index.js';
import type { MessageRoute } from './routes.js';

/**
 * The messages of a parsed body, as the route reads it: one message of the route's type, or
 * `{"batch":[...]}`, or one message or an array.
 *
 * @throws BadRequestError for a body of the wrong shape or with no message;
 *   TooManyMessagesError past `MAX_MESSAGES_PER_REQUEST`.
 */
export function messagesOf(route: MessageRoute, body: unknown): unknown[] {
  if (route.body.shape === 'single') {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new BadRequestError(`${route.name} takes one JSON object`);
    }
    return [{ ...body, type: route.body.type }];
  }
  const messages = extractMessages(body);
  if (messages === undefined) {
    throw new BadRequestError(
      route.body.shape === 'batch'
        ? 'body must be {"batch":[...]} of Segment messages'
        : 'body must be a JSON object or an array of messages',
    );
  }
  if (messages.length === 0) throw new BadRequestError('body holds no messages');
  if (messages.length > MAX_MESSAGES_PER_REQUEST) {
    throw new TooManyMessagesError(messages.length, MAX_MESSAGES_PER_REQUEST);
  }
  return messages;
}

/**
 * Translates `messages` in order, yielding the events to send and recording skips and
 * rejections (and their bounded warning lines) as it goes. Each message is dropped from
 * `messages` once translated, so the parsed body of a large batch can be collected while its
 * events are still being delivered.
 */
export function* translateEach(
  messages: unknown[],
  options: TranslateOptions,
  reports: Reports,
  counts: Pick<RequestSummary, 'collisions' | 'renameCollisions' | 'removedKeys'>,
): Generator<DeliveryItem, void, undefined> {
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    messages[index] = undefined;
    const translation = translateMessage(message, options);
    if (translation.outcome === 'send') {
      counts.collisions += translation.collisions ?? 0;
      counts.renameCollisions += translation.renameCollisions ?? 0;
      counts.removedKeys += translation.removedKeys ?? 0;
      // The event carries the messageId already; it is read again only for reports.
      const item: DeliveryItem = { index, messageId: translation.candu.messageId, event: translation.candu };
      if (translation.synthesizedTimestamp) item.synthesizedTimestamp = true;
      yield item;
    } else if (translation.outcome === 'skip') {
      reports.skipped.push(report(index, messageIdOf(message), translation.reason));
    } else {
      const rejection = report(index, messageIdOf(message), translation.reason);
      reports.rejected.push(rejection);
      reports.warnings.warn(LogMessage.MessageRejected, { ...rejection });
    }
  }
}
