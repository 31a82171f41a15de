/**
 * What Candu's outgoing webhooks post ("Default" format; developers.candu.ai, "Setting up Outgoing
 * Webhooks"): each event as `{"payload":{…}}`, one per request or several in an array, the payload
 * close to a Segment track call but not one:
 *
 * ```json
 * {"payload":{"id":"3a3d…","anonymousId":"25c2…","userId":"candu-demo-user","type":"Track",
 *   "context":{"library":{…},"page":{…},…},"sentAt":"2023-01-18T15:28:02.063Z",
 *   "receivedAt":"2023-01-18T15:28:02.326Z","eventName":"candu.sdk.content.interaction",
 *   "properties":{…}}}
 * ```
 *
 * The schemas read only what the track call is made of; other fields are allowed and left out.
 * Their messages follow a field path, e.g. `payload.eventName is required`,
 * `payload has neither userId nor anonymousId`.
 */
import * as z from 'zod';
import { IdentifierSchema } from './messages.js';

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** One payload of Candu's outgoing webhooks. */
function payloadSchema() {
  /** `context` and `properties`: objects, kept as received. */
  const ObjectSchema = z
    .custom<Record<string, unknown>>(isPlainObject, { error: 'must be an object' })
    .nullish();
  return z
    .object({
      /** The event's id, forwarded as `messageId`. */
      id: IdentifierSchema,
      userId: IdentifierSchema,
      anonymousId: IdentifierSchema,
      /** `Track` in every payload Candu documents; read case-insensitively. */
      type: z.string({ error: 'must be a string' }).nullish(),
      eventName: z
        .string({
          error: (issue) =>
            issue.input === undefined || issue.input === null ? 'is required' : 'must be a string',
        })
        .trim()
        .min(1, { error: 'is required' }),
      context: ObjectSchema,
      properties: ObjectSchema,
      /** Read only when the translation gets to them: the first valid one wins. */
      timestamp: z.unknown().optional(),
      receivedAt: z.unknown().optional(),
      sentAt: z.unknown().optional(),
    })
    .refine((payload) => nonBlank(payload.userId) || nonBlank(payload.anonymousId), {
      error: 'has neither userId nor anonymousId',
    });
}
export type CanduWebhookPayload = z.infer<ReturnType<typeof payloadSchema>>;

/**
 * One element of a webhook body: `{"payload":{…}}`. Built on its first parse, so that a
 * function that never receives one (every function but the engagement route's) never builds it.
 */
export const CanduWebhookEventSchema = z.lazy(() =>
  z.object({
    payload: z
      .custom<Record<string, unknown>>(isPlainObject, {
        error: (issue) =>
          issue.input === undefined || issue.input === null ? 'is required' : 'must be an object',
      })
      .pipe(payloadSchema()),
  }),
);
export type CanduWebhookEvent = z.infer<typeof CanduWebhookEventSchema>;

function nonBlank(value: string | null | undefined): boolean {
  return typeof value === 'string' && value.trim() !== '';
}
