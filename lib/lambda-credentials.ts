/**
 * The AWS credentials of the deployed functions: the environment's, which is where Lambda puts the
 * execution role's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
 *
 * The bundles use this module in place of `@aws-sdk/credential-provider-node` (serverless.yml,
 * `custom.esbuild.alias`), whose `defaultProvider` is what the Secrets Manager and SQS clients
 * import. That chain also reads profiles, SSO, web identity and instance metadata, none of which a
 * Lambda function has, and bundles the STS, SSO and SSO-OIDC clients for them: about 80 KB of each
 * 500 KB bundle, loaded at every cold start. Code that is not bundled (`replay`, `translate`, the
 * local worker, the tests) keeps the SDK's full chain; `npm start` resolves a profile with it and
 * hands the functions the result as environment variables (bin/local-credentials.ts).
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** What the clients' runtime configuration calls: `defaultProvider(init)` gives the provider. */
export const defaultProvider: typeof fromEnv = (init) => fromEnv(init);
