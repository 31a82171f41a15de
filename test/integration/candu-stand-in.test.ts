/**
 * The one Candu stand-in over real HTTP: which key each `Authorization` scheme carries, the
 * accepted-key check for both, and the sandbox `npm start` runs on top of it (any key, the
 * printed lines, 400 for a body that is not JSON).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CanduSandbox, startCanduSandbox } from '../../local/candu-sandbox.js';
import { type CanduStandIn, startCanduStandIn } from '../../local/candu-stand-in.js';

const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

const post = (url: string, body: string, authorization?: string) =>
  fetch(`${url}/eventWebhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization === undefined ? {} : { authorization }),
    },
    body,
  });

describe('the Candu stand-in', () => {
  let candu: CanduStandIn;
  beforeAll(async () => {
    candu = await startCanduStandIn({ acceptedKey: 'k1' });
  });
  afterEach(() => candu.reset());
  afterAll(() => candu.close());

  it('records the key whichever scheme carried it: the bearer token or the Basic user name', async () => {
    expect((await post(candu.url, '{}', 'Bearer k1')).status).toBe(200);
    expect((await post(candu.url, '{}', basic('k1'))).status).toBe(200);
    expect(candu.requests.map((r) => [r.authScheme, r.apiKey, r.authorization])).toEqual([
      ['Bearer', 'k1', 'Bearer k1'],
      ['Basic', 'k1', basic('k1')],
    ]);
  });

  it('answers 401 to another key, in either scheme, and to no key', async () => {
    expect((await post(candu.url, '{}', 'Bearer k2')).status).toBe(401);
    expect((await post(candu.url, '{}', basic('k2'))).status).toBe(401);
    expect((await post(candu.url, '{}')).status).toBe(401);
    expect(candu.requests.map((r) => [r.authScheme, r.apiKey])).toEqual([
      ['Bearer', 'k2'],
      ['Basic', 'k2'],
      [undefined, undefined],
    ]);
  });
});

describe('the sandbox of npm start (the stand-in printing, any key accepted)', () => {
  let sandbox: CanduSandbox;
  let printed: string[];
  beforeEach(async () => {
    printed = [];
    sandbox = await startCanduSandbox((line) => printed.push(line));
  });
  afterEach(() => sandbox.close());

  it('accepts any key and prints each request as npm start shows it', async () => {
    expect((await post(sandbox.url, '{"type":"identify","userId":"u1"}', 'Bearer any')).status).toBe(200);
    expect((await post(sandbox.url, '{"type":"group"}', basic('any'))).status).toBe(200);
    expect((await post(sandbox.url, '[{"type":"track"},{"type":"page"}]')).status).toBe(200);
    expect(printed).toEqual([
      '[candu sandbox] POST /api/eventWebhook (Bearer <key>): 1 event as one JSON object',
      '  {"type":"identify","userId":"u1"}',
      '[candu sandbox] POST /api/eventWebhook (Basic <key>): 1 event as one JSON object',
      '  {"type":"group"}',
      '[candu sandbox] POST /api/eventWebhook (no key): 2 events as a JSON array',
      '  {"type":"track"}',
      '  {"type":"page"}',
    ]);
  });

  it('answers 400 to a body that is not JSON and says so, numbering the request', async () => {
    expect((await post(sandbox.url, '{}', 'Bearer any')).status).toBe(200);
    const response = await post(sandbox.url, 'not json', 'Bearer any');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'body is not JSON' });
    expect(printed.at(-1)).toBe('[candu sandbox] request 2: body is not JSON');
  });

  it('answers 404 to anything but POST …/eventWebhook, printing nothing', async () => {
    expect((await fetch(`${sandbox.url}/other`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${sandbox.url}/eventWebhook`)).status).toBe(404);
    expect(printed).toEqual([]);
  });
});
