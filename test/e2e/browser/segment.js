// The page's use of @segment/analytics-next, bundled for the browser by the test (esbuild): the
// settings are given, so nothing is fetched from Segment's CDN, and events go to `apiHost`.
import './network-log.js';
import { AnalyticsBrowser } from '@segment/analytics-next';

window.sendWithSegment = async ({ writeKey, apiHost, userId }) => {
  const segmentIo = { apiKey: writeKey, apiHost, protocol: 'http' };
  const [analytics] = await AnalyticsBrowser.load(
    { writeKey, cdnSettings: { integrations: { 'Segment.io': segmentIo }, metrics: { sampleRate: 0 } } },
    { integrations: { 'Segment.io': { apiHost, protocol: 'http' } } },
  );
  const handled = [
    await analytics.identify(userId, { plan: 'pro', seats: 3 }),
    await analytics.track('Project Created', { template: 'blank' }),
    await analytics.page('Docs', 'Getting Started', { path: '/docs/start' }),
  ];
  return handled.map((context) => context.event.messageId);
};
