/**
 * What `npm start` prints of serverless-offline's output, line by line: its internal port shown as
 * the one the adapter serves (local/offline-adapter.ts), and no engagement token. serverless-offline
 * prints each request's raw path, and the token of `POST /v1/candu/{token}` is a credential: it is
 * replaced by the route template, as API Gateway's access log records it.
 */
import { Transform } from 'node:stream';

/** `/v1/candu/<anything up to a space, quote or end>` → the route template. */
const ENGAGEMENT_PATH = /\/v1\/candu\/[^\s"'?#]+/g;

/** One line as `npm start` prints it. */
export function shownLine(line: string, ports: { internal: number; public: number }): string {
  return line
    .replaceAll(`127.0.0.1:${ports.internal}`, `127.0.0.1:${ports.public}`)
    .replaceAll(`localhost:${ports.internal}`, `localhost:${ports.public}`)
    .replace(ENGAGEMENT_PATH, '/v1/candu/{token}');
}

/** A stream rewriting each complete line with `shownLine` (a partial last line waits for its end). */
export function outputFilter(ports: { internal: number; public: number }): Transform {
  let partial = '';
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      done(null, lines.map((line) => `${shownLine(line, ports)}\n`).join(''));
    },
    flush(done) {
      done(null, partial === '' ? '' : shownLine(partial, ports));
    },
  });
}
