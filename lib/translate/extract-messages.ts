/**
 * The messages in a decoded request body or translate input: one object is one message, an
 * array is a list of messages, and `{"batch":[...]}` (the Segment HTTP Tracking API) is its
 * batch. Returns `undefined` for any other shape (a string, a number, `null`, a `batch` that is
 * not an array). Never throws; the messages themselves are not checked here.
 */
export function extractMessages(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (typeof body !== 'object' || body === null) return undefined;
  if (!Object.hasOwn(body, 'batch')) return [body];
  const batch: unknown = (body as { batch: unknown }).batch;
  return Array.isArray(batch) ? batch : undefined;
}
