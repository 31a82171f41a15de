/**
 * The engagement route's credential: Candu's outgoing webhooks take only a URL (no header), so it
 * is the path's `{token}`, compared in constant time with the secret's `engagementToken` and,
 * during a rotation, `previousEngagementToken`.
 */
import { secretFailure } from '../budgets.js';
import { UnauthorizedError } from '../errors.js';
import type { Secrets } from '../schemas/contracts.js';
import { matchesAny } from '../secrets/compare-secrets.js';

/**
 * Checks the path token `given` against the configured tokens, comparing it with every one of
 * them in constant time (`matchesAny`).
 *
 * @throws RetryLaterError (503, `Retry-After` 300 s) when the secret holds no usable token: none
 *   configured, or one the store refused as shorter than `MIN_ENGAGEMENT_TOKEN_CHARS` (a
 *   configuration problem an operator fixes; Candu's events are never accepted on a guessable
 *   token). UnauthorizedError (`no credential`, `token mismatch`) when the path's token is absent
 *   or matches none.
 */
export function checkPathToken(given: string | undefined, secrets: Secrets): void {
  const refused = Object.values(secrets.refused ?? {});
  if (refused.length > 0) {
    throw secretFailure('invalid-configuration', `${refused.join('; ')}: refusing to serve`);
  }
  const accepted = [secrets.engagementToken, secrets.previousEngagementToken].filter(
    (token): token is string => token !== undefined && token !== '',
  );
  if (accepted.length === 0) {
    throw secretFailure(
      'no-inbound-credential',
      'no engagementToken configured (set it in the secret, or ENGAGEMENT_TOKEN); refusing to serve',
    );
  }
  if (given === undefined || given === '') throw new UnauthorizedError('no credential');
  if (!matchesAny(given, accepted)) throw new UnauthorizedError('token mismatch');
}
