// The page's use of @rudderstack/analytics-js (its bundled build: no plugin is fetched from a
// CDN), bundled for the browser by the test (esbuild). The source configuration is given, so
// nothing is fetched from RudderStack's control plane; events go to `dataPlaneUrl`.
import './network-log.js';
import { RudderAnalytics } from '@rudderstack/analytics-js/bundled';

window.sendWithRudderStack = ({ writeKey, dataPlaneUrl, userId }) =>
  new Promise((resolve) => {
    const analytics = new RudderAnalytics();
    analytics.load(writeKey, dataPlaneUrl, {
      getSourceConfig: () => ({
        source: {
          id: 'browser-test',
          name: 'browser test',
          workspaceId: 'local',
          enabled: true,
          config: {},
          destinations: [],
        },
      }),
      polyfillIfRequired: false,
      plugins: ['XhrQueue'],
      onLoaded: () => {
        analytics.identify(userId, { plan: 'pro', seats: 3 });
        analytics.track('Project Created', { template: 'blank' });
        analytics.page('Docs', 'Getting Started', { path: '/docs/start' });
        resolve();
      },
    });
  });
