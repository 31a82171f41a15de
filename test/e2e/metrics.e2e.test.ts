import { describe, expect, it } from 'vitest';
import { useSharedStack } from '../support/shared-stack.js';

// One request through `npm start` prints the EMF line CloudWatch would turn into metrics
// (lib/metrics.ts): the same numbers as the summary log line, per route and over all routes.

const local = useSharedStack('sandbox');

/** The EMF lines printed since this file's lease of the server began. */
const emfLines = async () =>
  (await local.server.outputSinceLease())
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('{"_aws"'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('npm start metrics', () => {
  it('prints one EMF line per request with the request summary as metrics', async () => {
    const body = JSON.stringify([
      { type: 'identify', userId: 'u1', messageId: 'm1', traits: { plan: 'pro' } },
      { type: 'alias', userId: 'u1', previousId: 'a1', messageId: 'm2' },
      { type: 'track', userId: 'u1', messageId: 'm3' },
    ]);
    const response = await fetch(`${local.server.url}/v1/rudderstack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    // The line is written before the answer; the output pipe may deliver it a moment later.
    for (let waited = 0; (await emfLines()).length === 0 && waited < 5_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const lines = await emfLines();
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({
      _aws: {
        CloudWatchMetrics: [
          { Namespace: 'CanduDestination/local', Dimensions: [['service', 'route'], ['service']] },
        ],
      },
      service: 'candu-destination',
      route: 'POST /v1/rudderstack',
      status: '200',
      Received: 3,
      Delivered: 1,
      Queued: 0,
      Skipped: 1,
      Rejected: 1,
      CanduRequests: 1,
      Retries: 0,
      DeliveryFailures: 0,
      Duration: expect.any(Number),
    });
    const cloudWatch = line?._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } | undefined;
    const names = cloudWatch?.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name) ?? [];
    expect(names.sort()).toEqual(
      [
        'CanduKeyRefused',
        'CanduRequests',
        'DeliveryFailures',
        'EngagementFailed',
        'EngagementForwarded',
        'EngagementReceived',
        'FailedBatchItems',
        'PossiblyDuplicated',
        'Spilled',
        'Delivered',
        'Duration',
        'KeyCollisions',
        'Queued',
        'Received',
        'Rejected',
        'RemovedKeys',
        'RenameCollisions',
        'Retries',
        'Skipped',
      ].sort(),
    );
  });
});
