/**
 * A seeded corpus of realistic Segment and RudderStack messages for the benchmarks: mixed types
 * (mostly track, then identify and page, some screen and group, a few alias), analytics.js and
 * mobile contexts like the fixtures in test/fixtures/, 1–3 KB each as JSON. The same seed always
 * gives the same messages, so runs on different machines compare like with like.
 */
import { createPrng } from '../test/support/prng.js';

/** The bytes each generated message aims for, as JSON (`JSON.stringify`, no whitespace). */
export const MESSAGE_BYTES = { min: 1_024, max: 3_072 } as const;

type Message = Record<string, unknown>;

const EVENTS = [
  'Report Viewed',
  'Report Exported',
  'Dashboard Shared',
  'Product Added',
  'Checkout Started',
  'Order Completed',
  'Course Clicked',
  'Invite Sent',
  'Integration Connected',
  'Guide Dismissed',
];
const PAGES = [
  { name: 'Settings', category: 'Account', path: '/settings', title: 'Settings' },
  { name: 'Home', category: 'Docs', path: '/academy/', title: 'Analytics Academy' },
  { name: 'Billing', category: 'Account', path: '/billing', title: 'Billing' },
  { name: 'Reports', category: undefined, path: '/reports', title: 'Reports' },
  { name: undefined, category: undefined, path: '/', title: 'Welcome | Initech' },
];
const SCREENS = ['Home', 'Inbox', 'Profile', 'Checkout', undefined];
const PLANS = ['free', 'team', 'pro', 'enterprise'];
const CITIES = ['San Francisco', 'Lyon', 'Pune', 'Austin', 'Berlin', 'São Paulo'];
const USER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';

/**
 * `count` messages from `seed`: Segment's dialect (analytics.js, `messageId`, `timestamp`) and,
 * for `rudderstackShare` of them, RudderStack's (`rudderId`, `channel`, identify traits in
 * `context.traits`, numeric user ids, `request_ip`, `Track` capitalised).
 */
export function generateMessages(count: number, seed = 6, rudderstackShare = 0.5): Message[] {
  const random = createPrng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const hex = (length: number) => {
    let text = '';
    for (let i = 0; i < length; i++) text += Math.floor(random() * 16).toString(16);
    return text;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const when = (base: number) => new Date(base + int(0, 86_400_000)).toISOString();

  const messages: Message[] = [];
  for (let n = 0; n < count; n++) {
    const rudder = random() < rudderstackShare;
    const roll = random();
    const type =
      roll < 0.45
        ? 'track'
        : roll < 0.65
          ? 'identify'
          : roll < 0.83
            ? 'page'
            : roll < 0.9
              ? 'screen'
              : roll < 0.98
                ? 'group'
                : 'alias';
    const target = int(MESSAGE_BYTES.min, MESSAGE_BYTES.max - 80);
    const base = Date.UTC(2024, 4, 1) + int(0, 30) * 86_400_000;
    const userNo = int(1, 5_000);
    const page = pick(PAGES);
    const userTraits = {
      email: `user${userNo}@example.com`,
      name: `User ${userNo}`,
      plan: pick(PLANS),
      logins: int(1, 400),
    };
    const context: Message =
      type === 'screen'
        ? {
            app: { name: 'InitechGlobal', version: String(int(100, 999)), build: `3.0.1.${int(100, 999)}` },
            device: { manufacturer: 'Apple', model: `iPhone${int(7, 15)},2`, type: 'ios', id: uuid() },
            os: { name: 'iPhone OS', version: `${int(14, 17)}.${int(0, 6)}` },
            screen: { width: 390, height: 844, density: 3 },
            network: { wifi: random() < 0.7, carrier: 'T-Mobile' },
            library: { name: rudder ? 'RudderLabs iOS SDK' : 'analytics-ios', version: '1.12.0' },
            locale: 'en-US',
            timezone: 'America/New_York',
          }
        : {
            ip: `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`,
            library: rudder
              ? { name: 'RudderLabs JavaScript SDK', version: '3.0.0' }
              : { name: 'analytics.js', version: 'next-1.53.0' },
            locale: pick(['en-US', 'en-GB', 'fr-FR', 'de-DE']),
            page: {
              path: page.path,
              referrer: pick(['', '$direct', 'https://www.google.com/']),
              search: random() < 0.3 ? `?q=${hex(6)}` : '',
              title: page.title,
              url: `https://app.example.com${page.path}`,
            },
            userAgent: USER_AGENT,
            campaign: random() < 0.3 ? { source: 'newsletter', medium: 'email', name: 'spring' } : undefined,
          };
    if (type === 'identify' && rudder) context.traits = userTraits;
    else if (random() < 0.3) context.traits = { email: userTraits.email };

    const message: Message = {
      type: rudder && type === 'track' ? 'Track' : type,
      ...(random() < 0.05 ? {} : { userId: rudder && random() < 0.3 ? userNo : `user-${userNo}` }),
      anonymousId: uuid(),
      messageId: rudder ? uuid() : `ajs-next-${hex(32)}`,
      context,
      integrations: rudder ? { All: true } : {},
      originalTimestamp: when(base),
      sentAt: when(base),
      receivedAt: when(base),
      ...(rudder
        ? { channel: 'web', rudderId: uuid(), request_ip: `[::1]:${int(1_024, 65_535)}` }
        : { timestamp: when(base), version: 2 }),
    };
    const attributes: Message = {};
    switch (type) {
      case 'track':
        message.event = rudder && random() < 0.2 ? `  ${pick(EVENTS)}  ` : pick(EVENTS);
        message.properties = attributes;
        break;
      case 'identify':
        message.traits = attributes;
        Object.assign(attributes, rudder ? {} : userTraits);
        attributes.address = { city: pick(CITIES), country: 'USA', postalCode: String(int(10_000, 99_999)) };
        attributes.tags = ['beta', pick(['admin', 'viewer', 'editor'])];
        attributes.createdAt = when(base - 400 * 86_400_000);
        attributes.avatar = null;
        break;
      case 'page':
        message.name = page.name;
        message.category = page.category;
        message.properties = attributes;
        Object.assign(attributes, { title: page.title, url: `https://app.example.com${page.path}` });
        break;
      case 'screen':
        message.name = pick(SCREENS);
        message.properties = attributes;
        break;
      case 'group':
        message.groupId = random() < 0.2 ? int(1, 9_999) : `org-${hex(12)}`;
        message.traits = attributes;
        Object.assign(attributes, {
          name: `Org ${int(1, 999)}`,
          industry: 'Technology',
          employees: int(5, 5_000),
        });
        break;
      case 'alias':
        message.previousId = uuid();
        break;
    }
    // Pad traits/properties with realistic fields until the message reaches its target size.
    let field = 0;
    while (type !== 'alias' && JSON.stringify(message).length < target) {
      field++;
      const kind = field % 6;
      if (kind === 0) attributes[`feature_${field}`] = random() < 0.5;
      else if (kind === 1) attributes[`count_${field}`] = int(0, 10_000);
      else if (kind === 2) attributes[`price_${field}`] = Math.round(random() * 10_000) / 100;
      else if (kind === 3) attributes[`label_${field}`] = `${pick(EVENTS)} ${hex(6)}`;
      else if (kind === 4)
        attributes[`detail_${field}`] = { id: int(1, 999), source: pick(['web', 'api', 'csv']) };
      else attributes[`items_${field}`] = [hex(4), hex(4), int(1, 9)];
    }
    if (type === 'alias') {
      // An alias carries no attributes: pad its context, as a mobile SDK's would be.
      while (JSON.stringify(message).length < target) context[`extra_${hex(4)}`] = hex(24);
    }
    messages.push(message);
  }
  return messages;
}
