/**
 * A test file's lease of a shared `npm start` stack (test/support/stack-broker.ts): held from its
 * first test to its last, so no other file uses the stack meanwhile. Call `useSharedStack` at the
 * top level of a test file; use `server` and `candu` inside tests and hooks only.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import type { ReceivedEvent, RecordedRequest } from '../../local/candu-stand-in.js';
import type { StackName } from './shared-stacks.js';

export interface SharedStack {
  readonly server: {
    url: string;
    /** The server's process group (the start command, serverless-offline and its workers). */
    processGroup: number;
    /** What the server printed since it started. */
    output(): Promise<string>;
    /** What the server printed since this file's lease began. */
    outputSinceLease(): Promise<string>;
  };
  readonly candu: {
    reset(): Promise<void>;
    requests(): Promise<RecordedRequest[]>;
    acceptedEvents(): Promise<ReceivedEvent[]>;
  };
}

/** Registers the hooks that lease and release the stack `name`; see the module comment. */
export function useSharedStack(name: StackName): SharedStack {
  const broker = `${inject('stackBroker')}/stacks/${name}`;
  let leased: { url: string; processGroup: number } | undefined;
  const call = async <T>(action: string, method = 'GET'): Promise<T> => {
    const response = await fetch(`${broker}/${action}`, { method });
    if (!response.ok)
      throw new Error(`stack broker: ${action} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  const output = () => call<{ output: string; leaseOffset: number }>('output');
  beforeAll(async () => {
    leased = await call('lease', 'POST');
  }, 180_000);
  afterAll(async () => {
    await call('release', 'POST');
  });
  const held = () => {
    if (leased === undefined) throw new Error('the stack is leased in beforeAll');
    return leased;
  };
  return {
    server: {
      get url() {
        return held().url;
      },
      get processGroup() {
        return held().processGroup;
      },
      output: async () => (await output()).output,
      outputSinceLease: async () => {
        const { output: text, leaseOffset } = await output();
        return text.slice(leaseOffset);
      },
    },
    candu: {
      reset: async () => {
        await call('candu/reset', 'POST');
      },
      requests: () => call('candu/requests'),
      acceptedEvents: () => call('candu/accepted'),
    },
  };
}
