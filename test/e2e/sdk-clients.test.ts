/**
 * End to end with real clients: `npm start` (serverless-offline on the real serverless.yml)
 * forwarding to the local Candu stand-in, driven by the published Segment and RudderStack
 * Node SDKs through the tracking-API routes, and by webhook bodies in the documented formats
 * (RudderStack Webhook destination, Segment Webhooks (Actions) "Send a batch").
 */
import { createHmac } from 'node:crypto';
import RudderAnalytics from '@rudderstack/rudder-sdk-node';
import { Analytics } from '@segment/analytics-node';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ReceivedEvent } from '../../local/candu-stand-in.js';
import { loadFixture } from '../fixtures/load-fixture.js';
import { useSharedStack } from '../support/shared-stack.js';
import { STAND_IN_CREDENTIALS } from '../support/shared-stacks.js';

const {
  canduKey: CANDU_KEY,
  inboundToken: WRITE_KEY,
  segmentSharedSecret: SHARED_SECRET,
} = STAND_IN_CREDENTIALS;

const local = useSharedStack('stand-in');

beforeEach(() => local.candu.reset());

/** What identifies a Candu event in these tests. */
function summary(event: ReceivedEvent) {
  const { type, userId, event: name, groupId } = event;
  return {
    type,
    userId,
    ...(name === undefined ? {} : { event: name }),
    ...(groupId === undefined ? {} : { groupId }),
  };
}

/** The Candu events the SDK calls below must produce, in order (alias has no Candu equivalent). */
const expectedFromSdk = (userId: string) => [
  { type: 'identify', userId },
  { type: 'track', userId, event: 'Project Created' },
  { type: 'track', userId, event: 'Viewed Docs Getting Started Page' },
  { type: 'track', userId, event: 'Viewed Home Screen' },
  { type: 'group', userId, groupId: `${userId}-group` },
];

describe('@segment/analytics-node pointed at the tracking API', () => {
  it('delivers identify, track, page, screen and group to Candu and skips alias', async () => {
    const errors: unknown[] = [];
    const analytics = new Analytics({
      writeKey: WRITE_KEY,
      host: local.server.url,
      path: '/v1/batch',
      flushAt: 100,
      maxRetries: 0,
    });
    analytics.on('error', (error) => errors.push(error));
    const userId = 'segment-sdk-user';
    analytics.identify({ userId, traits: { plan: 'pro', seats: 3 } });
    analytics.track({ userId, event: 'Project Created', properties: { template: 'blank' } });
    analytics.page({
      userId,
      category: 'Docs',
      name: 'Getting Started',
      properties: { path: '/docs/start' },
    });
    analytics.screen({ userId, name: 'Home' });
    analytics.group({ userId, groupId: `${userId}-group`, traits: { name: 'Acme' } });
    analytics.alias({ userId, previousId: 'segment-sdk-anon' });
    await analytics.closeAndFlush({ timeout: 20_000 });

    expect(errors).toEqual([]);
    const events = await local.candu.acceptedEvents();
    expect(events.map(summary)).toEqual(expectedFromSdk(userId));
    expect(events[0]?.traits).toEqual({ plan: 'pro', seats: 3 });
    expect(events[4]?.traits).toEqual({ name: 'Acme' });
    expect((await local.candu.requests()).every((request) => request.apiKey === CANDU_KEY)).toBe(true);
  });
});

describe('@rudderstack/rudder-sdk-node pointed at the tracking API', () => {
  it('delivers its gzipped, form-labelled batches to Candu', async () => {
    const errors: unknown[] = [];
    const client = new RudderAnalytics(WRITE_KEY, {
      dataPlaneUrl: local.server.url,
      flushAt: 100,
      flushInterval: 60_000,
      retryCount: 0,
      logLevel: 'error',
      // Keep what the server answered, not axios' whole error object.
      errorHandler: (error: { message?: string; response?: { status?: number; data?: unknown } }) =>
        errors.push({ message: error.message, status: error.response?.status, data: error.response?.data }),
    });
    const userId = 'rudder-sdk-user';
    client.identify({ userId, traits: { plan: 'pro', seats: 3 } });
    client.track({ userId, event: 'Project Created', properties: { template: 'blank' } });
    client.page({ userId, category: 'Docs', name: 'Getting Started', properties: { path: '/docs/start' } });
    client.screen({ userId, name: 'Home' });
    client.group({ userId, groupId: `${userId}-group`, traits: { name: 'Acme' } });
    client.alias({ userId, previousId: 'rudder-sdk-anon' });
    // The first call flushes at once; flush() sends the rest after it and resolves when answered.
    await client.flush();

    expect(errors).toEqual([]);
    const events = await local.candu.acceptedEvents();
    expect(events.map(summary)).toEqual(expectedFromSdk(userId));
    // rudder-sdk-node sends identify traits in both `traits` and `context.traits`.
    expect(events[0]?.traits).toEqual({ plan: 'pro', seats: 3 });
  });
});

describe('webhooks in the documented formats', () => {
  it('RudderStack Webhook destination: an array of messages with a Bearer token on /v1/rudderstack', async () => {
    const body = loadFixture<Record<string, unknown>[]>('webhooks/rudderstack-webhook-batch.json');
    const response = await fetch(`${local.server.url}/v1/rudderstack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: true,
      received: 6,
      delivered: 5,
      skipped: [{ index: 5, messageId: 'rs-msg-alias' }],
      rejected: [],
    });
    const events = await local.candu.acceptedEvents();
    expect(events.map(summary)).toEqual([
      { type: 'identify', userId: 'rs-user-1' },
      { type: 'track', userId: 'rs-user-1', event: 'Report Exported' },
      { type: 'track', userId: 'rs-user-1', event: 'Viewed Account Settings Page' },
      { type: 'track', userId: 'rs-user-1', event: 'Viewed Dashboard Screen' },
      { type: 'group', userId: 'rs-user-1', groupId: 'rs-group-9' },
    ]);
    // RudderStack carries identify traits in context.traits.
    expect(events[0]?.traits).toEqual({ email: 'rs-user-1@example.com', plan: 'team' });
    expect(events.map((event) => event.messageId)).toEqual([
      'rs-msg-identify',
      'rs-msg-track',
      'rs-msg-page',
      'rs-msg-screen',
      'rs-msg-group',
    ]);
  });

  it('Segment Webhooks (Actions) "Send a batch": a JSON array with a Bearer header on /v1/segment', async () => {
    const body = loadFixture<Record<string, unknown>[]>('webhooks/segment-actions-send-a-batch.json');
    const response = await fetch(`${local.server.url}/v1/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${WRITE_KEY}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: true,
      received: 6,
      delivered: 5,
      skipped: [{ index: 5, messageId: 'seg-msg-alias' }],
      rejected: [],
    });
    expect((await local.candu.acceptedEvents()).map(summary)).toEqual([
      { type: 'identify', userId: 'seg-user-1' },
      { type: 'track', userId: 'seg-user-1', event: 'Workspace Created' },
      { type: 'track', userId: 'seg-user-1', event: 'Viewed Settings Billing Page' },
      { type: 'track', userId: 'seg-user-1', event: 'Viewed Home Screen' },
      { type: 'group', userId: 'seg-user-1', groupId: 'seg-group-7' },
    ]);
  });

  it('refuses by default a Segment batch signed over its first element only, and sends Candu nothing', async () => {
    // The signature does not cover the other elements (SEGMENT_SIGNATURE_SCOPE=first-element opts in).
    const body = loadFixture<Record<string, unknown>[]>('webhooks/segment-actions-send-a-batch.json');
    const signature = createHmac('sha1', SHARED_SECRET).update(JSON.stringify(body[0])).digest('hex');
    const response = await fetch(`${local.server.url}/v1/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(401);
    expect(await local.candu.requests()).toEqual([]);
  });

  it('refuses a Segment batch whose signature was made with another secret, and sends Candu nothing', async () => {
    const body = loadFixture<Record<string, unknown>[]>('webhooks/segment-actions-send-a-batch.json');
    const signature = createHmac('sha1', 'not-the-secret').update(JSON.stringify(body[0])).digest('hex');
    const response = await fetch(`${local.server.url}/v1/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': signature },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(401);
    expect(await local.candu.requests()).toEqual([]);
  });
});
