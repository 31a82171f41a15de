/**
 * A local-only osls plugin for `npm start`: an invocation that throws or times out is answered
 * 502 (504 for a timeout) with a generic body, as API Gateway answers it, instead of
 * serverless-offline's 200.
 *
 * Why: for an HTTP API with payload 2.0, serverless-offline 14 renders a failed invocation as
 * `{"errorMessage","errorType","stackTrace"}` and, having no `statusCode`, answers it with 200.
 * Segment and RudderStack take a 200 as delivered and drop the batch; a 5xx makes them retry.
 * On a loaded machine a local invocation can time out before any of our code runs, so this is
 * not theoretical (docs/RELIABILITY.md).
 *
 * How: serverless-offline's LambdaFunction#runHandler is wrapped so that a thrown error becomes
 * the response API Gateway would give. Only `osls offline` loads the patch.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let installing;

/** The response API Gateway gives for a failed invocation. Exported for the test. */
export function apiGatewayErrorResponse(error) {
  const timeout = error?.constructor?.name === 'LambdaTimeoutError';
  return {
    statusCode: timeout ? 504 : 502,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: timeout ? 'Gateway Timeout' : 'Internal Server Error' }),
  };
}

/** Wraps `LambdaFunction.prototype.runHandler` so a failed invocation resolves to an API Gateway error response. */
export function answerFailuresLikeApiGateway(LambdaFunction) {
  const runHandler = LambdaFunction.prototype.runHandler;
  if (runHandler.answersFailuresLikeApiGateway) return;
  const wrapped = async function runHandlerLikeApiGateway(...args) {
    try {
      return await runHandler.apply(this, args);
    } catch (error) {
      return apiGatewayErrorResponse(error);
    }
  };
  wrapped.answersFailuresLikeApiGateway = true;
  LambdaFunction.prototype.runHandler = wrapped;
}

function install() {
  installing ??= (async () => {
    // The module is not in serverless-offline's exports: load it by path, the same file (and so
    // the same class) serverless-offline itself loads.
    const entry = createRequire(import.meta.url).resolve('serverless-offline');
    const file = join(dirname(entry), 'lambda', 'LambdaFunction.js');
    const { default: LambdaFunction } = await import(pathToFileURL(file).href);
    answerFailuresLikeApiGateway(LambdaFunction);
  })();
  return installing;
}

export default class OfflineLambdaErrors {
  constructor() {
    this.hooks = { 'before:offline:start:init': install, 'before:offline:start': install };
  }
}
