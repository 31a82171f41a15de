/**
 * The destinations' HTTP client (lib/delivery/http-post.ts) against a real server on 127.0.0.1:
 * what it sends, what it answers with, and what it does with redirects, aborts, refused
 * connections, long bodies and answers cut short. The destination client reads its answers
 * (test/integration/delivery.test.ts goes through both).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpPost, type PostInit } from '../../lib/delivery/http-post.js';
import { MAX_REFUSAL_BODY_BYTES } from '../../lib/limits.js';
import { type LoopbackListener, listenOnLoopback } from '../../local/loopback-server.js';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  remotePort: number | undefined;
}

let received: Received[] = [];
let answer: (response: ServerResponse) => void = (response) => response.end('{"ok":true}');
const server = createServer((request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => {
    body += chunk;
  });
  request.on('end', () => {
    const { method, url, headers } = request;
    received.push({ method, url, headers, body, remotePort: request.socket.remotePort });
    answer(response);
  });
});
let listener: LoopbackListener;
let base: string;

beforeAll(async () => {
  listener = await listenOnLoopback(server);
  base = `http://127.0.0.1:${listener.port}`;
});
afterAll(async () => {
  await listener.close();
});
beforeEach(() => {
  received = [];
  answer = (response) => response.end('{"ok":true}');
});

const init = (body: string, signal = new AbortController().signal): PostInit => ({
  method: 'POST',
  headers: { authorization: 'Bearer key-1', 'content-type': 'application/json' },
  body,
  signal,
  redirect: 'manual',
});
const text = async (buffer: Promise<ArrayBuffer>) => Buffer.from(await buffer).toString('utf8');

describe('httpPost', () => {
  it('POSTs the body with its headers and its byte length, and answers with the status, headers and body', async () => {
    answer = (response) => {
      response.writeHead(429, { 'Retry-After': '7', 'content-type': 'application/json' });
      response.end('{"message":"slow down"}');
    };
    const body = JSON.stringify({ userId: 'ü-1', event: 'Signed Up' });
    const response = await httpPost(`${base}/api/eventWebhook`, init(body));

    expect(response.status).toBe(429);
    expect(response.headers.get('Retry-After')).toBe('7');
    expect(response.headers.get('x-absent')).toBeNull();
    expect(await text(response.arrayBuffer())).toBe('{"message":"slow down"}');
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/api/eventWebhook', body });
    expect(received[0]?.headers).toMatchObject({
      authorization: 'Bearer key-1',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    });
  });

  it('sends one request after another on the same kept-alive connection', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await httpPost(`${base}/eventWebhook`, init(`{"n":${i}}`));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    expect(received.map((r) => r.body)).toEqual(['{"n":0}', '{"n":1}', '{"n":2}']);
    expect(new Set(received.map((r) => r.remotePort)).size).toBe(1);
  });

  it('answers a redirect as it is, without following it', async () => {
    answer = (response) => {
      response.writeHead(307, { location: '/elsewhere' });
      response.end();
    };
    const response = await httpPost(`${base}/eventWebhook`, init('{}'));
    expect(response.status).toBe(307);
    expect(received.map((r) => r.url)).toEqual(['/eventWebhook']);
  });

  it('rejects when aborted before the answer, and the signal says it was', async () => {
    answer = () => {}; // never answers
    const controller = new AbortController();
    const pending = httpPost(`${base}/eventWebhook`, init('{}', controller.signal));
    await expect.poll(() => received.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(controller.signal.aborted).toBe(true);
  });

  it('rejects with the connection error code when nothing listens', async () => {
    const closed = createServer();
    const unused = await listenOnLoopback(closed);
    await unused.close();
    await expect(httpPost(`http://127.0.0.1:${unused.port}/eventWebhook`, init('{}'))).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('keeps one byte more than a refusal reason is read from, and reads the rest away', async () => {
    answer = (response) => {
      response.writeHead(400);
      response.end('x'.repeat(MAX_REFUSAL_BODY_BYTES * 8));
    };
    const first = await httpPost(`${base}/eventWebhook`, init('{}'));
    expect((await first.arrayBuffer()).byteLength).toBe(MAX_REFUSAL_BODY_BYTES + 1);
    answer = (response) => response.end('{"ok":true}');
    const second = await httpPost(`${base}/eventWebhook`, init('{}'));
    expect(await text(second.arrayBuffer())).toBe('{"ok":true}');
    expect(received[1]?.remotePort).toBe(received[0]?.remotePort);
  });

  it('rejects the body of an answer whose connection closes before it ends', async () => {
    answer = (response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('{"ok"');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const response = await httpPost(`${base}/eventWebhook`, init('{}'));
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });
});
