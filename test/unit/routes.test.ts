import { describe, expect, it } from 'vitest';
import { routeForTrackingPath, TRACKING_BATCH, trackingSingle } from '../../lib/routes.js';

describe('routeForTrackingPath', () => {
  it('maps /v1/batch and each /v1/{type}', () => {
    expect(routeForTrackingPath('/v1/batch')).toBe(TRACKING_BATCH);
    for (const type of ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const) {
      expect(routeForTrackingPath(`/v1/${type}`)).toEqual(trackingSingle(type));
    }
  });

  it('ignores a stage prefix and a trailing slash', () => {
    expect(routeForTrackingPath('/prod/v1/track/')).toEqual(trackingSingle('track'));
  });

  it('knows no other path', () => {
    expect(routeForTrackingPath('/v1/segment')).toBeUndefined();
    expect(routeForTrackingPath('')).toBeUndefined();
  });
});
