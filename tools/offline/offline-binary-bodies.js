/**
 * A local-only osls plugin for `npm start`: passes compressed request bodies to the functions
 * intact, base64-encoded with `isBase64Encoded: true`, as API Gateway does with binary bodies.
 *
 * Why: serverless-offline 14 decodes every request body as UTF-8 text unless its Content-Type
 * is application/octet-stream or multipart/form-data, which corrupts gzip. The real
 * `@rudderstack/rudder-sdk-node` sends gzipped batches labelled
 * application/x-www-form-urlencoded, so without this it cannot talk to a local server.
 *
 * How: before serverless-offline's HTTP server sees a request that carries Content-Encoding,
 * the Content-Type it reads (Node's parsed `req.headers`) says application/octet-stream.
 * The function still gets the original headers: serverless-offline builds the event's headers
 * from `req.rawHeaders`, which are left alone. Only `osls offline` loads the patch.
 */
import http from 'node:http';

const BINARY_TYPES = ['application/octet-stream', 'multipart/form-data'];
let installed = false;

function install() {
  if (installed) return;
  installed = true;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function emitWithBinaryBodies(event, ...args) {
    const request = args[0];
    if (event === 'request' && request instanceof http.IncomingMessage) {
      const { headers } = request;
      const type = headers['content-type'] ?? '';
      if (headers['content-encoding'] && !BINARY_TYPES.some((binary) => type.includes(binary))) {
        headers['content-type'] = 'application/octet-stream';
      }
    }
    return emit.call(this, event, ...args);
  };
}

export default class OfflineBinaryBodies {
  constructor() {
    this.hooks = { 'before:offline:start:init': install, 'before:offline:start': install };
  }
}
