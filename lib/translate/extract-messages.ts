/** The fields of a `{"batch":[...]}` envelope that apply to each message of its batch. */
const ENVELOPE_FIELDS = ['context', 'integrations'] as const;

/**
 * The messages in a decoded request body or translate input: one object is one message, an
 * array is a list of messages, and `{"batch":[...]}` (the Segment HTTP Tracking API) is its
 * batch. Returns `undefined` for any other shape (a string, a number, `null`, a `batch` that is
 * not an array). Never throws; the messages themselves are not checked here.
 *
 * A batch envelope's top-level `context` and `integrations` apply to each message of the batch,
 * the message's own keys winning (`{...envelope.context, ...message.context}`); a message whose
 * own field is not an object keeps it as it is. The input is never mutated: a message that takes
 * something from the envelope is a shallow copy.
 */
export function extractMessages(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (typeof body !== 'object' || body === null) return undefined;
  if (!Object.hasOwn(body, 'batch')) return [body];
  const envelope = body as Record<string, unknown>;
  const batch: unknown = envelope.batch;
  if (!Array.isArray(batch)) return undefined;
  const shared = ENVELOPE_FIELDS.filter(
    (field) => Object.hasOwn(envelope, field) && isPlainObject(envelope[field]),
  );
  if (shared.length === 0) return batch;
  return batch.map((message: unknown) => {
    if (!isPlainObject(message)) return message;
    const merged: Record<string, unknown> = { ...message };
    for (const field of shared) {
      const own = message[field];
      if (own === undefined || own === null) merged[field] = envelope[field];
      else if (isPlainObject(own)) merged[field] = { ...(envelope[field] as object), ...own };
    }
    return merged;
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
