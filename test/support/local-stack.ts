/**
 * `npm start` (test/support/local-server.ts), in front of a local Candu stand-in when asked, for
 * the tests of one file: both start before them and stop after them. For a file that needs a
 * configuration, or control of the stand-in, of its own; the others share a stack per
 * configuration (test/support/shared-stack.ts). Call it at the top level of a test file; read
 * `candu` and `server` inside tests and hooks only.
 */
import { afterAll, beforeAll } from 'vitest';
import {
  type CanduStandIn,
  type CanduStandInOptions,
  startCanduStandIn,
} from '../../local/candu-stand-in.js';
import { type LocalServer, startLocalServer } from './local-server.js';

export interface LocalStack {
  /** The stand-in; throws when `useLocalStack` was not given `candu` options. */
  readonly candu: CanduStandIn;
  readonly server: LocalServer;
}

export interface LocalStackOptions {
  /** Starts a Candu stand-in with these options; none when absent (the server's sandbox answers). */
  candu?: CanduStandInOptions;
  /** The server's environment; `CANDU_API_URL` is the stand-in's URL when there is one. */
  env: Record<string, string>;
  /** How long starting both may take. */
  startTimeoutMs?: number;
}

/** Registers the hooks that start and stop the stack; see the module comment. */
export function useLocalStack(options: LocalStackOptions): LocalStack {
  let candu: CanduStandIn | undefined;
  let server: LocalServer | undefined;
  beforeAll(async () => {
    candu = options.candu === undefined ? undefined : await startCanduStandIn(options.candu);
    server = await startLocalServer(
      candu === undefined ? options.env : { ...options.env, CANDU_API_URL: candu.url },
    );
  }, options.startTimeoutMs ?? 120_000);
  afterAll(async () => {
    await server?.stop();
    await candu?.close();
  });
  return {
    get candu() {
      if (candu === undefined) throw new Error('no Candu stand-in: pass `candu` to useLocalStack');
      return candu;
    },
    get server() {
      if (server === undefined) throw new Error('the local server starts in beforeAll');
      return server;
    },
  };
}
