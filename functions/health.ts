import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** `GET /health`: answers `{"ok":true}` and reveals nothing else. */
export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: '{"ok":true}',
});
