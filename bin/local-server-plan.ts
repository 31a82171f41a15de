/**
 * What `npm start` decides from its environment before it starts anything: whether the
 * configuration holds (every problem at once), whether the embedded sandbox stands in for Candu,
 * which queue the local worker polls, and how a sender authenticates; and the start-up lines
 * that say so (the queue line, the "Try:" hint).
 */
import { type Config, parseConfig } from '../lib/config.js';

/** How a sender authenticates to the local server, as far as `npm start` can tell. */
export type LocalCredential =
  /** `INBOUND_TOKEN` is set: Bearer (or Basic) with it. */
  | 'token'
  /** Only `SEGMENT_SHARED_SECRET` is set: an `X-Signature` over the body. */
  | 'signature'
  /** `CANDU_SECRET_ID` is set: the credentials are in the secret, which is read per request. */
  | 'secret'
  /** Nothing to check against: unauthenticated requests are accepted (sandbox or ALLOW_UNAUTHENTICATED). */
  | 'none';

/** A local run that can start. */
export interface LocalServerPlan {
  config: Config;
  port: number;
  /** True when no Candu key, secret or URL is configured: the embedded sandbox stands in for Candu. */
  sandbox: boolean;
  /**
   * The queue npm start's worker polls, in both modes (in direct mode it carries the spill-over):
   * `local` when npm start runs the queue itself (no `QUEUE_URL` given), `given` when it polls
   * the `QUEUE_URL` set.
   */
  queue: 'local' | 'given';
  credential: LocalCredential;
  /** True when no `CDP_TRACKING_URL` is set: the embedded CDP sandbox receives Candu's engagement. */
  cdpSandbox: boolean;
  /** Said once at start: settings that work but that an operator should know about. */
  warnings: string[];
}

/** The outcome of `planLocalServer`: the plan, or every problem found. */
export type LocalServerPlanResult = { ok: true; plan: LocalServerPlan } | { ok: false; problems: string[] };

/** Stands for the local queue's URL while checking; bin/start.ts sets the real one. */
const LOCAL_QUEUE_PLACEHOLDER = 'http://127.0.0.1/000000000000/local';

/** The route the hint posts to: it accepts every credential form (ARCHITECTURE.md, Routes). */
const TRY_PATH = '/v1/segment';
const TRY_BODY = '{"type":"identify","userId":"u1","traits":{"plan":"pro"}}';
/** Prints the hex HMAC-SHA1 of `$body` keyed with `$SEGMENT_SHARED_SECRET`: Segment's `X-Signature`. */
const SIGNATURE_COMMAND = `printf %s "$body" | openssl dgst -sha1 -hmac "$SEGMENT_SHARED_SECRET" | awk '{print $NF}'`;

/**
 * Checks `env` as `npm start` would run with it: the configuration (`parseConfig`), `PORT`, and
 * that a server delivering to a real Candu has an inbound credential. Without one, the deployed
 * functions refuse every request with 503, so starting would only hide the mistake until the
 * first request; the sandbox instead accepts unauthenticated requests, as `ALLOW_UNAUTHENTICATED=true` does.
 */
export function planLocalServer(env: Record<string, string | undefined>): LocalServerPlanResult {
  const configured = (name: string) => (env[name] ?? '').trim() !== '';
  const problems: string[] = [];
  const localQueue = !configured('QUEUE_URL');
  // npm start runs a queue of its own when none is given, so QUEUE_URL is not required of it.
  const parsed = parseConfig(localQueue ? { ...env, QUEUE_URL: LOCAL_QUEUE_PLACEHOLDER } : env);
  if (!parsed.ok) problems.push(...parsed.problems);

  const portText = (env.PORT ?? '').trim() || '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65_535) {
    problems.push(`PORT must be an integer from 1 to 65535, got ${JSON.stringify(env.PORT)}`);
  }

  const sandbox = !['CANDU_API_KEY', 'CANDU_SECRET_ID', 'CANDU_API_URL'].some(configured);
  const credential: LocalCredential = configured('CANDU_SECRET_ID')
    ? 'secret'
    : configured('INBOUND_TOKEN')
      ? 'token'
      : configured('SEGMENT_SHARED_SECRET')
        ? 'signature'
        : 'none';
  // Read as parseConfig does, so this problem is reported even when another variable is invalid.
  const unauthenticatedAllowed = (env.ALLOW_UNAUTHENTICATED ?? '').trim().toLowerCase() === 'true';
  if (credential === 'none' && !sandbox && !unauthenticatedAllowed) {
    problems.push(
      'no inbound credential configured: set INBOUND_TOKEN or SEGMENT_SHARED_SECRET (or CANDU_SECRET_ID ' +
        'naming a secret that holds one), or ALLOW_UNAUTHENTICATED=true to accept unauthenticated requests ' +
        'on this machine; as configured, every request would be refused with 503',
    );
  }
  const cdpSandbox = !configured('CDP_TRACKING_URL');
  if (!cdpSandbox && !configured('CDP_WRITE_KEY') && !configured('CANDU_SECRET_ID')) {
    problems.push(
      'CDP_TRACKING_URL is set but no CDP write key is: set CDP_WRITE_KEY (or CANDU_SECRET_ID naming a secret ' +
        'that holds cdpWriteKey); as configured, every engagement event would wait in the queue for it',
    );
  }
  if (!parsed.ok || problems.length > 0) return { ok: false, problems };

  const warnings: string[] = [];
  if (credential === 'none' && !sandbox) {
    warnings.push(
      'ALLOW_UNAUTHENTICATED=true: this server accepts unauthenticated requests and delivers them to ' +
        `${parsed.config.canduApiUrl} (never set it on a deployed stage)`,
    );
  }
  const queue = localQueue ? 'local' : 'given';
  return {
    ok: true,
    plan: { config: parsed.config, port, sandbox, queue, credential, cdpSandbox, warnings },
  };
}

/**
 * The start-up lines about Candu's engagement: the URL to paste into Candu's outgoing webhook
 * (with the token when it is known here: `ENGAGEMENT_TOKEN`, set or generated for this run) and
 * where the events go. Local use only: it prints the token, which the URL must carry.
 */
export function engagementNotice(
  plan: Pick<LocalServerPlan, 'port' | 'cdpSandbox' | 'config'>,
  token: { value: string; generated: boolean } | undefined,
): string[] {
  const path = `/v1/candu/${token?.value ?? '<engagementToken in the secret CANDU_SECRET_ID names>'}`;
  const to = plan.cdpSandbox
    ? 'to the embedded CDP sandbox, which prints each batch here'
    : `as track calls to ${plan.config.cdpTrackingUrl}/batch`;
  return [
    `[engagement] Candu's outgoing webhooks (Settings → Integrations → Outgoing Webhooks, "Default" format) go ${to}; the webhook URL:`,
    `[engagement]   http://127.0.0.1:${plan.port}${path}`,
    '[engagement] Candu posts from its own servers: give it this path on an https tunnel to this port.' +
      (token?.generated === true ? ' The token is new each run: set ENGAGEMENT_TOKEN to keep the URL.' : ''),
  ];
}

/**
 * The start-up line about the queue and the worker: what reaches the queue at `queueUrl` in the
 * chosen mode (everything when queued; in direct mode what spills, or nothing with
 * `SPILL_TO_QUEUE=false`) and how the worker retries it.
 */
export function queueNotice(plan: Pick<LocalServerPlan, 'config' | 'queue'>, queueUrl: string): string {
  const { deliveryMode, spillToQueue, deliveryDeadlineMs, queueRetryBaseSeconds, queueRetryMaxSeconds } =
    plan.config;
  const queue = plan.queue === 'local' ? `a local queue (${queueUrl})` : queueUrl;
  const worker = (what: string) =>
    `the worker delivers ${what} from there and retries failures after ${queueRetryBaseSeconds} s, ` +
    `doubling up to ${queueRetryMaxSeconds} s.`;
  const notAcknowledged = `what Candu does not acknowledge within DELIVERY_DEADLINE_MS (${deliveryDeadlineMs} ms)`;
  if (deliveryMode === 'queued') {
    return `queued delivery: the functions answer 202 once events are in ${queue}; ${worker('them')}`;
  }
  if (!spillToQueue) {
    return (
      `spill-over is off (SPILL_TO_QUEUE=false): ${notAcknowledged} is answered 429 or 503 for the ` +
      `sender to resend; the worker polls ${queue}, which the functions do not write to.`
    );
  }
  return `spill-over: ${notAcknowledged} is handed to ${queue} and answered 202; ${worker('it')}`;
}

/**
 * The start-up "Try:" hint: a curl command that works as printed once the credential it names is
 * in the shell's environment. It refers to the credential by variable and never prints its value.
 */
export function tryCommand(plan: Pick<LocalServerPlan, 'port' | 'credential'>): string {
  const url = `http://127.0.0.1:${plan.port}${TRY_PATH}`;
  const post = `curl -s -X POST ${url} -H 'content-type: application/json'`;
  switch (plan.credential) {
    case 'none':
      return `Try: ${post} \\\n  -d '${TRY_BODY}'`;
    case 'token':
      return `Try: ${post} \\\n  -H "Authorization: Bearer $INBOUND_TOKEN" \\\n  -d '${TRY_BODY}'`;
    case 'secret':
      // Basic with the token as user name, which the route accepts as it does Bearer: the hint
      // then carries no header text that the log scans (test/hygiene, the soak) would flag.
      return [
        'Try, with INBOUND_TOKEN set to the inboundToken held in the secret CANDU_SECRET_ID names:',
        `  ${post} \\`,
        '  -u "$INBOUND_TOKEN:" \\',
        `  -d '${TRY_BODY}'`,
      ].join('\n');
    case 'signature':
      return [
        "Try (Segment's X-Signature: HMAC-SHA1 of the body with SEGMENT_SHARED_SECRET):",
        `  body='${TRY_BODY}'`,
        `  ${post} \\`,
        `  -H "X-Signature: $(${SIGNATURE_COMMAND})" \\`,
        '  -d "$body"',
      ].join('\n');
  }
}

/**
 * The one line `npm start` prints instead of starting when its port cannot be bound: `refusal`
 * is `in-use`, or the error code that refused it (`EACCES` for a privileged port).
 */
export function portProblem(port: number, refusal: string): string {
  // Above the privileged ports, which need root.
  const other = port >= 1_024 && port < 65_535 ? port + 1 : 3000;
  const instead = `choose another port, e.g. PORT=${other} npm start`;
  if (refusal === 'in-use') {
    return `npm start: port ${port} on 127.0.0.1 is in use (another npm start?): stop what holds it, or ${instead}`;
  }
  return `npm start: cannot listen on 127.0.0.1:${port} (${refusal}): ${instead}`;
}
