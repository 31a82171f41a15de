/**
 * Where a delivery sends its chunks. The one engine (deliver.ts) and the one delivery policy
 * (delivery-policy.ts) serve every destination: Candu's `POST /api/eventWebhook`
 * (candu-destination.ts) and, for Candu's engagement, the CDP's `POST /v1/batch`
 * (cdp-destination.ts). A destination says only what differs between them: the URL, the
 * credential and how it is sent, how a chunk is written, how large one may be, what its refusals
 * say, and the names its log lines and reasons use.
 */
import type { LogMessage } from '../log-messages.js';
import type { Secrets } from '../schemas/contracts.js';

/** The log lines the engine writes about one destination (each registered in lib/log-messages.ts). */
export interface DestinationLogMessages {
  /** DEBUG: each attempt, with what the policy decided. */
  answered: LogMessage;
  /** WARN: an attempt failed and is retried. */
  attemptFailed: LogMessage;
  /** WARN: the credential was refused (401/403); the secret is fetched again. */
  keyRefused: LogMessage;
  /** DEBUG: an event refused on its own. */
  rejectedEvent: LogMessage;
  /** WARN: the call gave up. */
  deliveryFailed: LogMessage;
}

export interface Destination {
  /** As reasons name it: `Candu`, `the CDP`. */
  readonly name: string;
  /** What its credential is called in the policy's reasons: `API key` (`Candu refused the API key`), `write key`. */
  readonly credential: string;
  /**
   * How the reasons of a credential that cannot be had name it: `no Candu API key configured`,
   * `Candu key unavailable: …` (the runbook searches for these), `no CDP write key configured`.
   */
  readonly keyNames: { missing: string; unavailable: string };
  /** Every chunk is POSTed here. */
  readonly url: string;
  /** The `Authorization` header for the credential in `secrets`; `undefined` when they hold none. */
  authorization(secrets: Secrets): string | undefined;
  /** The request body for a chunk, from its events serialized one by one (`JSON.stringify`). */
  body(events: readonly string[]): string;
  /**
   * The largest chunk body the destination takes, in UTF-8 bytes: a chunk is closed before the
   * next event would take it past this (an event larger on its own is sent alone).
   */
  readonly maxChunkBytes: number;
  /**
   * The destination's reason for refusing the events of a 400, 413 or 422, read from its answer's
   * body (at most `MAX_REFUSAL_BODY_BYTES`); `undefined` when the body gives none.
   */
  refusalDetail(body: Buffer): string | undefined;
  readonly log: DestinationLogMessages;
}
