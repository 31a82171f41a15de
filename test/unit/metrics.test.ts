import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config.js';
import { createMessageRequestHandler } from '../../lib/ingest/request-handler.js';
import { RUDDERSTACK_WEBHOOK } from '../../lib/ingest/routes.js';
import { createLogger } from '../../lib/logger.js';
import {
  createMetricsPublisher,
  DEFAULT_METRICS_NAMESPACE,
  type MetricsPublisher,
  type MetricsSummary,
} from '../../lib/metrics.js';
import { allDelivered, readItems } from '../support/delivery-items.js';

const SUMMARY: MetricsSummary = {
  received: 5,
  delivered: 3,
  skipped: 1,
  rejected: 1,
  canduRequests: 2,
  retries: 1,
  removedKeys: 4,
  collisions: 1,
  renameCollisions: 2,
  durationMs: 42,
  status: 207,
};

function capture(namespace?: string) {
  const lines: string[] = [];
  const publisher = createMetricsPublisher({ namespace, write: (line) => lines.push(line) });
  const emf = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { publisher, lines, emf };
}

describe('createMetricsPublisher', () => {
  it('writes one EMF line per summary, per route and over all routes', () => {
    const { publisher, emf } = capture('CanduDestination/prod');
    publisher.publish('POST /v1/segment', SUMMARY);
    const [line, ...more] = emf();
    expect(more).toEqual([]);
    expect(line).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'CanduDestination/prod',
            Dimensions: [['service', 'route'], ['service']],
            Metrics: [
              { Name: 'Received', Unit: 'Count' },
              { Name: 'Delivered', Unit: 'Count' },
              { Name: 'Queued', Unit: 'Count' },
              { Name: 'Spilled', Unit: 'Count' },
              { Name: 'PossiblyDuplicated', Unit: 'Count' },
              { Name: 'CanduKeyRefused', Unit: 'Count' },
              { Name: 'FailedBatchItems', Unit: 'Count' },
              { Name: 'EngagementReceived', Unit: 'Count' },
              { Name: 'EngagementForwarded', Unit: 'Count' },
              { Name: 'EngagementFailed', Unit: 'Count' },
              { Name: 'Skipped', Unit: 'Count' },
              { Name: 'Rejected', Unit: 'Count' },
              { Name: 'CanduRequests', Unit: 'Count' },
              { Name: 'Retries', Unit: 'Count' },
              { Name: 'RemovedKeys', Unit: 'Count' },
              { Name: 'KeyCollisions', Unit: 'Count' },
              { Name: 'RenameCollisions', Unit: 'Count' },
              { Name: 'DeliveryFailures', Unit: 'Count' },
              { Name: 'Duration', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: 'candu-destination',
      route: 'POST /v1/segment',
      status: '207',
      Received: 5,
      Delivered: 3,
      Queued: 0,
      Spilled: 0,
      PossiblyDuplicated: 0,
      CanduKeyRefused: 0,
      FailedBatchItems: 0,
      EngagementReceived: 0,
      EngagementForwarded: 0,
      EngagementFailed: 0,
      Skipped: 1,
      Rejected: 1,
      CanduRequests: 2,
      Retries: 1,
      RemovedKeys: 4,
      KeyCollisions: 1,
      RenameCollisions: 2,
      DeliveryFailures: 0,
      Duration: 42,
    });
  });

  it.each([
    [200, 0],
    [207, 0],
    [400, 0],
    [401, 0],
    [429, 1],
    [500, 1],
    [503, 1],
  ])('counts a request answered %i as %i delivery failure', (status, failures) => {
    const { publisher, emf } = capture();
    publisher.publish('POST /v1/batch', { ...SUMMARY, status });
    expect(emf()[0]?.DeliveryFailures).toBe(failures);
  });

  it('starts each line afresh: no dimension or value carries over, and a worker batch (no status) has no status', () => {
    const { publisher, emf } = capture();
    publisher.publish('POST /v1/segment', { ...SUMMARY, status: 503 });
    publisher.publish('queue', {
      ...SUMMARY,
      queued: 4,
      spilled: 3,
      possiblyDuplicated: 2,
      canduKeyRefused: 1,
      failedBatchItems: 5,
      engagementReceived: 7,
      engagementForwarded: 6,
      engagementFailed: 1,
      status: undefined,
    });
    const second = emf()[1];
    expect(second).toMatchObject({
      route: 'queue',
      Queued: 4,
      Spilled: 3,
      PossiblyDuplicated: 2,
      CanduKeyRefused: 1,
      FailedBatchItems: 5,
      EngagementReceived: 7,
      EngagementForwarded: 6,
      EngagementFailed: 1,
      DeliveryFailures: 0,
    });
    expect(second).not.toHaveProperty('status');
    expect(at(second, '_aws', 'CloudWatchMetrics', 0, 'Namespace')).toBe(DEFAULT_METRICS_NAMESPACE);
    expect(at(second, '_aws', 'CloudWatchMetrics', 0, 'Dimensions')).toEqual([
      ['service', 'route'],
      ['service'],
    ]);
  });
});

describe('the request pipeline', () => {
  it('publishes each request summary once, under its route', async () => {
    const published: [string, MetricsSummary][] = [];
    const metrics: MetricsPublisher = { publish: (route, summary) => published.push([route, summary]) };
    const config = parseConfig({ INBOUND_TOKEN: 'tok' });
    if (!config.ok) throw new Error(config.problems.join('; '));
    // The clock moves only while Candu is asked, so the duration is the delivery's 25 ms.
    let clock = 1_000;
    const handle = createMessageRequestHandler({
      config: config.config,
      secrets: { get: async () => ({ inboundToken: 'tok' }), refresh: async () => ({ inboundToken: 'tok' }) },
      delivery: {
        deliver: async (source) => {
          const items = await readItems(source);
          clock += 25;
          return allDelivered(items.length, { retries: 2 });
        },
      },
      logger: createLogger('ERROR', () => {}),
      metrics,
      now: () => clock,
    });
    const response = await handle(RUDDERSTACK_WEBHOOK, {
      headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
      body: JSON.stringify([
        { type: 'identify', userId: 'u1', messageId: 'm1' },
        { type: 'alias', userId: 'u1', previousId: 'a1', messageId: 'm2' },
      ]),
    });
    expect(response.statusCode).toBe(200);
    expect(published).toEqual([
      [
        'POST /v1/rudderstack',
        {
          received: 2,
          delivered: 1,
          queued: 0,
          spilled: 0,
          possiblyDuplicated: 0,
          canduKeyRefused: 0,
          skipped: 1,
          rejected: 0,
          canduRequests: 1,
          retries: 2,
          collisions: 0,
          renameCollisions: 0,
          removedKeys: 0,
          durationMs: 25,
          status: 200,
        },
      ],
    ]);
  });
});

function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) current = (current as Record<string | number, unknown> | undefined)?.[key];
  return current;
}
