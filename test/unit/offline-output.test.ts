import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { outputFilter, shownLine } from '../../local/offline-output.js';

const ports = { internal: 41_234, public: 3_000 };

describe('what npm start shows of serverless-offline', () => {
  it.each([
    [
      'its internal port as the public one',
      'Server ready: http://127.0.0.1:41234 🚀',
      'Server ready: http://127.0.0.1:3000 🚀',
    ],
    [
      'an engagement path with the route template',
      'POST /v1/candu/0123456789abcdef0123456789abcdef (λ: engagement)',
      'POST /v1/candu/{token} (λ: engagement)',
    ],
    ['a token followed by a query', 'POST /v1/candu/secret-token?x=1', 'POST /v1/candu/{token}?x=1'],
    ['any other line unchanged', 'POST /v1/segment (λ: segment)', 'POST /v1/segment (λ: segment)'],
  ])('shows %s', (_, line, shown) => {
    expect(shownLine(line, ports)).toBe(shown);
  });

  it('rewrites lines split across chunks, and a last line without its newline', async () => {
    const chunks = ['POST /v1/candu/abc', 'def (λ: engagement)\nServer ready: http://127.0.0.1:41', '234'];
    let shown = '';
    for await (const chunk of Readable.from(chunks.map((text) => Buffer.from(text))).pipe(
      outputFilter(ports),
    )) {
      shown += String(chunk);
    }
    expect(shown).toBe('POST /v1/candu/{token} (λ: engagement)\nServer ready: http://127.0.0.1:3000');
  });
});
