/**
 * The cold-start baseline: a handler that makes the same two calls as the real function's first
 * request (one `GetSecretValue` with the same SDK, one POST to Candu with the global `fetch`, as
 * a minimal handler is written) and nothing else. Bundled with the same esbuild options as the
 * functions.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

const client = new SecretsManagerClient({});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  const secret = await client.send(new GetSecretValueCommand({ SecretId: process.env.CANDU_SECRET_ID }));
  const { canduApiKey } = JSON.parse(secret.SecretString ?? '{}') as { canduApiKey?: string };
  const response = await fetch(`${process.env.CANDU_API_URL}/eventWebhook`, {
    method: 'POST',
    headers: { authorization: `Bearer ${canduApiKey}`, 'content-type': 'application/json' },
    body: event.body ?? '',
  });
  await response.arrayBuffer();
  return { statusCode: response.status, body: '{"ok":true}' };
};
