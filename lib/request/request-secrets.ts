/** Reading the secrets one request needs, within the request's deadline. */
import { secretFailure } from '../budgets.js';
import { SecretsUnavailableError } from '../errors.js';
import type { SecretStore, Secrets } from '../schemas/contracts.js';

/**
 * The secrets for one request; waits for Secrets Manager no later than `deadlineAt`, so a hung
 * call ends in 503 with `Retry-After`, never in a Lambda timeout.
 *
 * @throws RetryLaterError (503) when the secrets cannot be read by then; whatever else the store throws.
 */
export async function readRequestSecrets(
  store: SecretStore,
  deadlineAt: number,
  now: () => number,
): Promise<Secrets> {
  const signal = AbortSignal.timeout(Math.max(0, deadlineAt - now()));
  try {
    return await store.get({ signal });
  } catch (error) {
    if (error instanceof SecretsUnavailableError) {
      throw secretFailure('secrets-unavailable', `secrets unavailable: ${error.message}`, error);
    }
    throw error;
  }
}
