/**
 * Browser senders end to end: the published browser SDKs (`@segment/analytics-next`,
 * `@rudderstack/analytics-js`) bundled for the browser with esbuild, on a page served from
 * another origin than `npm start`'s, in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core), sending with the public write key through `npm start` to the Candu stand-in.
 * Each event must reach Candu exactly once: the page records what the SDK's own code saw of each
 * answer, and an answer the browser withholds (CORS) is what makes the SDKs resend events that
 * landed. A page from an origin not in `CORS_ALLOWED_ORIGINS` gets nothing through.
 *
 * Skipped, with a one-line notice, where no Chromium is installed (`CHROMIUM_PATH`, else
 * /usr/bin/chromium). docs/OPERATIONS.md, "Browser senders", says how to run it.
 */
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CanduStandIn, type ReceivedEvent, startCanduStandIn } from '../../local/candu-stand-in.js';
import { type LoopbackListener, listenOnLoopback } from '../../local/loopback-server.js';
import { type LocalServer, startLocalServer } from '../support/local-server.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
if (!HAS_CHROMIUM) {
  console.log(
    `browser e2e skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

/**
 * Without the background-networking flags Chromium keeps calling home (updates, sync, field
 * trials), which on a closed network only adds noise; playwright launches with a fresh
 * temporary profile of its own.
 */
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const CANDU_KEY = 'candu-key-browser-e2e';
const INBOUND_TOKEN = 'inbound-token-browser-e2e';
const PUBLIC_WRITE_KEY = 'public-write-key-browser-e2e';
const HERE = join(import.meta.dirname, 'browser');

/** One request the SDK made, as the page recorded it (test/e2e/browser/network-log.js). */
interface SentRequest {
  api: 'fetch' | 'xhr';
  url: string;
  /** The status the SDK's code saw; 0 when the browser withheld the answer; undefined while pending. */
  status: number | undefined;
}

/** A small HTTP server on 127.0.0.1 serving the pages and their SDK bundles: one origin. */
interface PageServer {
  origin: string;
  close(): Promise<void>;
}

async function startPageServer(bundles: Record<string, string>): Promise<PageServer> {
  const server = createServer((req, res) => {
    const [, name = '', kind] = /^\/(\w+)\.(html|js)$/.exec(req.url ?? '') ?? [];
    const bundle = bundles[name];
    if (bundle === undefined) {
      res.writeHead(404).end();
    } else if (kind === 'html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><html><head><script src="/${name}.js"></script></head><body>${name}</body></html>`,
      );
    } else {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(bundle);
    }
  });
  const listener: LoopbackListener = await listenOnLoopback(server);
  return { origin: `http://127.0.0.1:${listener.port}`, close: () => listener.close() };
}

/** Bundles a page's script (an SDK and the request log) for the browser, as a site would. */
async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [join(HERE, entry)],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]?.text ?? '';
}

/** Waits for `done` to hold, checking every 100 ms, for at most `timeoutMs`; returns whether it held. */
async function waitFor(done: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return done();
}

let candu: CanduStandIn;
let server: LocalServer;
let allowedPage: PageServer;
let otherPage: PageServer;
let browser: Browser;

describe.skipIf(!HAS_CHROMIUM)('the published browser SDKs in headless Chromium, through npm start', () => {
  beforeAll(async () => {
    const bundles = { segment: await bundle('segment.js'), rudderstack: await bundle('rudderstack.js') };
    allowedPage = await startPageServer(bundles);
    otherPage = await startPageServer(bundles);
    candu = await startCanduStandIn({ acceptedKey: CANDU_KEY });
    server = await startLocalServer(
      {
        CANDU_API_URL: candu.url,
        CANDU_API_KEY: CANDU_KEY,
        INBOUND_TOKEN,
        PUBLIC_WRITE_KEY,
        CORS_ALLOWED_ORIGINS: allowedPage.origin,
      },
      120_000,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await candu?.close();
    await allowedPage?.close();
    await otherPage?.close();
  });

  /** The requests the page's SDK sent to `npm start`, as its own code saw them. */
  const apiRequests = async (page: Page): Promise<SentRequest[]> =>
    ((await page.evaluate('window.__sent')) as SentRequest[]).filter((r) => r.url.startsWith(server.url));
  const eventsOf = (userId: string): ReceivedEvent[] =>
    candu.acceptedEvents().filter((event) => event.userId === userId);
  const summary = (event: ReceivedEvent) => ({ type: event.type, event: event.event, traits: event.traits });
  const sorted = <T>(items: T[]) =>
    [...items].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

  /** What identify, track and page of the pages become in Candu, once each. */
  const expected = [
    { type: 'identify', event: undefined, traits: { plan: 'pro', seats: 3 } },
    { type: 'track', event: 'Project Created', traits: undefined },
    { type: 'track', event: 'Viewed Docs Getting Started Page', traits: undefined },
  ];

  /**
   * Opens `sdk`'s page on `origin` in a fresh browser context, lets it send, and waits until
   * every request it made has been answered as far as the SDK can tell. Returns the page's view.
   */
  async function sendFrom(origin: string, sdk: 'segment' | 'rudderstack', userId: string) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${origin}/${sdk}.html`);
      const call =
        sdk === 'segment'
          ? `window.sendWithSegment(${JSON.stringify({ writeKey: PUBLIC_WRITE_KEY, apiHost: `${server.url.replace(/^http:\/\//, '')}/v1`, userId })})`
          : `window.sendWithRudderStack(${JSON.stringify({ writeKey: PUBLIC_WRITE_KEY, dataPlaneUrl: server.url, userId })})`;
      await page.evaluate(call);
      // One request per event in both SDKs' default delivery; each settled before reading on.
      const settled = await waitFor(async () => {
        const requests = await apiRequests(page);
        return requests.length >= expected.length && requests.every((r) => r.status !== undefined);
      });
      expect(settled, `${sdk}: every request answered or refused`).toBe(true);
      return await apiRequests(page);
    } finally {
      await context.close();
    }
  }

  it.each(['segment', 'rudderstack'] as const)(
    '%s: every event reaches Candu exactly once from an allowed origin, and the SDK saw each answer',
    async (sdk) => {
      const userId = `${sdk}-browser-user`;
      const requests = await sendFrom(allowedPage.origin, sdk, userId);
      // Every answer readable and 200: the SDK has nothing to retry, so nothing more will come.
      expect(requests.map((r) => r.status)).toEqual(expected.map(() => 200));
      await waitFor(() => eventsOf(userId).length >= expected.length);
      // In any order: analytics-js sends its queue's requests side by side.
      expect(sorted(eventsOf(userId).map(summary))).toEqual(sorted(expected));
      expect(candu.requests.every((r) => r.apiKey === CANDU_KEY)).toBe(true);
    },
    90_000,
  );

  it('the public write key opens no webhook route: as Bearer, as Basic, or as the key of an X-Signature', async () => {
    const body = JSON.stringify({ type: 'identify', userId: 'webhook-user', traits: { plan: 'pro' } });
    const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
    const post = async (path: string, headers: Record<string, string>) =>
      (
        await fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        })
      ).status;
    const signature = createHmac('sha1', PUBLIC_WRITE_KEY).update(body).digest('hex');
    const withPublicKey = [
      await post('/v1/segment', { authorization: `Bearer ${PUBLIC_WRITE_KEY}` }),
      await post('/v1/segment', { authorization: basic(PUBLIC_WRITE_KEY) }),
      await post('/v1/segment', { 'x-signature': signature }),
      await post('/v1/rudderstack', { authorization: `Bearer ${PUBLIC_WRITE_KEY}` }),
      await post('/v1/rudderstack', { authorization: basic(PUBLIC_WRITE_KEY) }),
      await post('/v1/rudderstack', { 'x-signature': signature }),
    ];
    expect(withPublicKey).toEqual(withPublicKey.map(() => 401));
    // The routes themselves are open to the server-side credential.
    expect(await post('/v1/rudderstack', { authorization: `Bearer ${INBOUND_TOKEN}` })).toBe(200);
    expect(eventsOf('webhook-user')).toHaveLength(1);
  });

  // serverless-offline 14 puts the request's Origin on every answer that is not a preflight, so a
  // simple request (no preflight) from any page could read our answers locally, which the deployed
  // HTTP API never allows: npm start's adapter (local/offline-adapter.ts, local/cors.ts) removes
  // those headers and sets only what the allowed list gives.
  it('answers a request that needs no preflight, from an origin not allowed, without Access-Control-Allow-Origin', async () => {
    const send = (origin: string) =>
      fetch(`${server.url}/v1/track`, {
        method: 'POST',
        headers: { origin, 'content-type': 'text/plain' },
        body: JSON.stringify({ writeKey: PUBLIC_WRITE_KEY, userId: 'simple-user', event: 'Clicked' }),
      });
    const refused = await send(otherPage.origin);
    expect(refused.status).toBe(200);
    expect([...refused.headers.keys()].filter((name) => name.startsWith('access-control-'))).toEqual([]);
    const allowed = await send(allowedPage.origin);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(allowedPage.origin);
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it.each(['segment', 'rudderstack'] as const)(
    '%s: a page from an origin not allowed gets nothing through (the browser refuses the preflight)',
    async (sdk) => {
      const userId = `${sdk}-other-origin-user`;
      const requests = await sendFrom(otherPage.origin, sdk, userId);
      expect(requests.map((r) => r.status)).toEqual(requests.map(() => 0));
      expect(eventsOf(userId)).toEqual([]);
    },
    90_000,
  );
});
