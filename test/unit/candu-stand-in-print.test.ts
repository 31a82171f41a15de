import { describe, expect, it } from 'vitest';
import { printedLines } from '../../local/candu-stand-in.js';

// What `npm start`'s sandbox prints for each request Candu would receive. The README and the
// quick-start e2e test quote these lines, so they are pinned here byte for byte.
describe('printedLines (the sandbox output of the Candu stand-in)', () => {
  const request = { requestNo: 1, path: '/api/eventWebhook' };

  it('one JSON object with a bearer key: a summary line naming the scheme, then the event', () => {
    const body = { type: 'identify', userId: 'u1', traits: { plan: 'pro' } };
    expect(printedLines({ ...request, authScheme: 'Bearer', body })).toEqual([
      '[candu sandbox] POST /api/eventWebhook (Bearer <key>): 1 event as one JSON object',
      '  {"type":"identify","userId":"u1","traits":{"plan":"pro"}}',
    ]);
  });

  it('a JSON array without a key: counts the events in the plural and prints one line each', () => {
    const body = [
      { type: 'track', event: 'a' },
      { type: 'track', event: 'b' },
    ];
    expect(printedLines({ ...request, authScheme: undefined, body })).toEqual([
      '[candu sandbox] POST /api/eventWebhook (no key): 2 events as a JSON array',
      '  {"type":"track","event":"a"}',
      '  {"type":"track","event":"b"}',
    ]);
  });

  it('an array of one is still said to be an array, in the singular', () => {
    expect(printedLines({ ...request, authScheme: 'Bearer', body: [{ type: 'group' }] })).toEqual([
      '[candu sandbox] POST /api/eventWebhook (Bearer <key>): 1 event as a JSON array',
      '  {"type":"group"}',
    ]);
  });

  it('a key carried by Basic credentials is labelled Basic (CANDU_AUTH=basic), never shown', () => {
    expect(printedLines({ ...request, authScheme: 'Basic', body: {} })[0]).toBe(
      '[candu sandbox] POST /api/eventWebhook (Basic <key>): 1 event as one JSON object',
    );
  });

  it('a body that is not JSON: one line naming the request by its number', () => {
    expect(printedLines({ ...request, requestNo: 3, authScheme: 'Bearer', body: undefined })).toEqual([
      '[candu sandbox] request 3: body is not JSON',
    ]);
  });
});
