/**
 * vitest's global setup (vitest.config.ts): a broker, on 127.0.0.1, for the `npm start` stacks
 * e2e files share, one per configuration of test/support/shared-stacks.ts. A stack (a Candu
 * stand-in, when the configuration has one, and `npm start` in front of it) starts on its first
 * lease and stops when the run ends; a lease is exclusive, so two files never share a stack at
 * once, and each lease starts with the stand-in reset. Test files reach it through
 * test/support/shared-stack.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { type CanduStandIn, startCanduStandIn } from '../../local/candu-stand-in.js';
import { type LocalServer, startLocalServer } from './local-server.js';
import { STACKS, type StackName } from './shared-stacks.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The stack broker's base URL. */
    stackBroker: string;
  }
}

interface Stack {
  candu?: CanduStandIn;
  server: LocalServer;
  /** Where the current lease's output starts. */
  leaseOffset: number;
}

/** One configuration: its stack once started, and the lease queue. */
interface Slot {
  stack?: Promise<Stack>;
  held: boolean;
  waiting: (() => void)[];
}

const slots = new Map<StackName, Slot>();
let broker: Server | undefined;

export async function setup(project: TestProject): Promise<void> {
  broker = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error));
    });
  });
  await new Promise<void>((resolve) => broker?.listen(0, '127.0.0.1', resolve));
  project.provide('stackBroker', `http://127.0.0.1:${(broker.address() as AddressInfo).port}`);
}

export async function teardown(): Promise<void> {
  await new Promise<void>((resolve) => (broker === undefined ? resolve() : broker.close(() => resolve())));
  await Promise.all(
    [...slots.values()].map(async (slot) => {
      const stack = await slot.stack?.catch(() => undefined);
      await stack?.server.stop();
      await stack?.candu?.close();
    }),
  );
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [, , name, action = '', detail] = (req.url ?? '').split('?')[0]?.split('/') ?? [];
  if (!(name !== undefined && name in STACKS)) {
    res.writeHead(404).end(`no stack configuration ${name}`);
    return;
  }
  const slot = slotOf(name as StackName);
  const json = (value: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  };
  if (action === 'lease') return json(await lease(name as StackName, slot));
  if (action === 'release') {
    release(slot);
    return json({ ok: true });
  }
  const stack = await slot.stack;
  if (stack === undefined) throw new Error(`stack ${name} is not started`);
  if (action === 'output') return json({ output: stack.server.output(), leaseOffset: stack.leaseOffset });
  if (action === 'candu' && stack.candu !== undefined) {
    if (detail === 'reset') stack.candu.reset();
    if (detail === 'requests') return json(stack.candu.requests);
    return json(stack.candu.acceptedEvents());
  }
  res.writeHead(404).end(`no ${action} on stack ${name}`);
}

function slotOf(name: StackName): Slot {
  let slot = slots.get(name);
  if (slot === undefined) {
    slot = { held: false, waiting: [] };
    slots.set(name, slot);
  }
  return slot;
}

async function lease(name: StackName, slot: Slot) {
  if (slot.held) await new Promise<void>((resolve) => slot.waiting.push(resolve));
  slot.held = true;
  slot.stack ??= start(name);
  const stack = await slot.stack;
  // The previous lessee's last requests can still be printing: serverless-offline's workers
  // write their lines before they answer, but the pipes deliver them later. This lease's output
  // starts once the server has been quiet for a moment, so none of it is taken for this file's.
  await outputSettled(stack.server);
  stack.candu?.reset();
  stack.leaseOffset = stack.server.output().length;
  return { url: stack.server.url, processGroup: stack.server.processGroup };
}

/** Resolves once `server` has printed nothing new for `QUIET_MS` (or after `SETTLE_LIMIT_MS`). */
async function outputSettled(server: LocalServer): Promise<void> {
  const QUIET_MS = 300;
  const SETTLE_LIMIT_MS = 5_000;
  let length = server.output().length;
  for (let waited = 0, quiet = 0; quiet < QUIET_MS && waited < SETTLE_LIMIT_MS; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = server.output().length;
    quiet = now === length ? quiet + 50 : 0;
    length = now;
  }
}

function release(slot: Slot): void {
  const next = slot.waiting.shift();
  if (next === undefined) slot.held = false;
  else next();
}

async function start(name: StackName): Promise<Stack> {
  const configuration = STACKS[name];
  const candu = 'candu' in configuration ? await startCanduStandIn(configuration.candu) : undefined;
  const env = { ...configuration.env, ...(candu === undefined ? {} : { CANDU_API_URL: candu.url }) };
  return { candu, server: await startLocalServer(env, 120_000), leaseOffset: 0 };
}
