export interface ApiGatewayErrorResponse {
  statusCode: 502 | 504;
  headers: Record<string, string>;
  body: string;
}
export function apiGatewayErrorResponse(error: unknown): ApiGatewayErrorResponse;
export function answerFailuresLikeApiGateway(LambdaFunction: {
  prototype: { runHandler: (...args: never[]) => Promise<unknown> };
}): void;
export default class OfflineLambdaErrors {
  hooks: Record<string, () => Promise<void>>;
}
