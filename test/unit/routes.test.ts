import { describe, expect, it } from 'vitest';
import { routeForTrackingPath, TRACKING_BATCH, trackingSingle } from '../../lib/ingest/routes.js';
import { createTrackingApiHandler } from '../../lib/ingest/tracking-api.js';
import { LogMessage } from '../../lib/log-messages.js';
import { createLogger } from '../../lib/logger.js';

describe('routeForTrackingPath', () => {
  it('maps /v1/batch and each /v1/{type}', () => {
    expect(routeForTrackingPath('/v1/batch')).toBe(TRACKING_BATCH);
    for (const type of ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const) {
      expect(routeForTrackingPath(`/v1/${type}`)).toEqual(trackingSingle(type));
    }
  });

  it("maps Segment's short paths, which analytics-next posts to, to the same routes", () => {
    expect(routeForTrackingPath('/v1/b')).toBe(TRACKING_BATCH);
    for (const [short, type] of [
      ['i', 'identify'],
      ['t', 'track'],
      ['p', 'page'],
      ['s', 'screen'],
      ['g', 'group'],
      ['a', 'alias'],
    ] as const) {
      expect(routeForTrackingPath(`/v1/${short}`)).toEqual(trackingSingle(type));
    }
    expect(routeForTrackingPath('/v1/x')).toBeUndefined();
  });

  it('ignores a stage prefix and a trailing slash', () => {
    expect(routeForTrackingPath('/prod/v1/track/')).toEqual(trackingSingle('track'));
  });

  it('knows no other path', () => {
    expect(routeForTrackingPath('/v1/segment')).toBeUndefined();
    expect(routeForTrackingPath('')).toBeUndefined();
  });
});

describe('tracking-API handler', () => {
  it('routes by path to /v1/batch or /v1/{type}, and answers 404 to any other path', async () => {
    const seen: string[] = [];
    const handle = createTrackingApiHandler(
      async (route) => {
        seen.push(route.name);
        return { statusCode: 200, body: '{}' };
      },
      createLogger('INFO', () => {}),
    );
    expect((await handle({ rawPath: '/v1/batch', headers: {} })).statusCode).toBe(200);
    expect((await handle({ rawPath: '/v1/screen', headers: {} })).statusCode).toBe(200);
    const missing = await handle({ rawPath: '/v1/nothing', headers: {} });
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body ?? '')).toEqual({ ok: false, error: 'not found' });
    expect(seen).toEqual(['POST /v1/batch', 'POST /v1/screen']);
  });

  it('logs a 404 in one line naming the path, cut to 100 characters', async () => {
    const lines: Record<string, unknown>[] = [];
    const handle = createTrackingApiHandler(
      async () => ({ statusCode: 200, body: '{}' }),
      createLogger('INFO', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)),
    );
    await handle(
      { rawPath: '/v1/nothing', headers: {}, requestContext: { requestId: 'api-1' } },
      { awsRequestId: 'r-1' },
    );
    const long = `/v1/${'x'.repeat(500)}`;
    await handle({ rawPath: long, headers: {} });
    expect(lines).toMatchObject([
      {
        level: 'WARN',
        message: LogMessage.NoTrackingRoute,
        path: '/v1/nothing',
        requestId: 'api-1',
        lambdaRequestId: 'r-1',
      },
      { path: `${long.slice(0, 100)}…` },
    ]);
    expect(lines).toHaveLength(2);
  });
});
