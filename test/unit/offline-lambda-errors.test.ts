import { describe, expect, it } from 'vitest';
import {
  answerFailuresLikeApiGateway,
  apiGatewayErrorResponse,
} from '../../tools/offline/offline-lambda-errors.js';

class LambdaTimeoutError extends Error {}

function fakeLambdaFunction(outcome: () => Promise<unknown>) {
  return class FakeLambdaFunction {
    runHandler(): Promise<unknown> {
      return outcome();
    }
  };
}

describe('npm start answers failed invocations like API Gateway', () => {
  it('answers 504 with a generic body for a Lambda timeout', async () => {
    const Fake = fakeLambdaFunction(() => Promise.reject(new LambdaTimeoutError('[504] - Lambda timeout.')));
    answerFailuresLikeApiGateway(Fake);
    const result = await new Fake().runHandler();
    expect(result).toEqual({
      statusCode: 504,
      headers: { 'content-type': 'application/json' },
      body: '{"message":"Gateway Timeout"}',
    });
  });

  it('answers 502 without the error message or stack for a handler that threw', async () => {
    const Fake = fakeLambdaFunction(() => Promise.reject(new TypeError('secret detail at /var/task/x.js:1')));
    answerFailuresLikeApiGateway(Fake);
    const result = (await new Fake().runHandler()) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(502);
    expect(result.body).not.toContain('secret detail');
  });

  it('leaves a successful invocation alone, and wraps only once', async () => {
    const answer = { statusCode: 200, body: '{"ok":true}' };
    const Fake = fakeLambdaFunction(() => Promise.resolve(answer));
    answerFailuresLikeApiGateway(Fake);
    const once = Fake.prototype.runHandler;
    answerFailuresLikeApiGateway(Fake);
    expect(Fake.prototype.runHandler).toBe(once);
    expect(await new Fake().runHandler()).toBe(answer);
  });

  it('maps any non-timeout error to 502', () => {
    expect(apiGatewayErrorResponse(new Error('x')).statusCode).toBe(502);
    expect(apiGatewayErrorResponse('not an error').statusCode).toBe(502);
  });
});
