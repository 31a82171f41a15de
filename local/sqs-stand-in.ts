/**
 * The local queue of `npm start` (bin/local-queue.ts), and the SQS stand-in of the tests and the
 * bench. Nothing in functions/ imports it, so it never reaches a Lambda bundle.
 *
 * A local HTTP server speaking enough of the SQS API for the real AWS SDK (@aws-sdk/client-sqs
 * 3.x: AWS JSON 1.0, `X-Amz-Target: AmazonSQS.<Op>`, query-compatible errors with
 * `x-amzn-query-error`): CreateQueue, GetQueueUrl, GetQueueAttributes, SendMessage,
 * SendMessageBatch, ReceiveMessage, DeleteMessage(Batch), ChangeMessageVisibility(Batch) and
 * StartMessageMoveTask. Bodies carry the MD5 digests the SDK checks. Signatures are not checked.
 * Point a client at it with `new SQSClient({ endpoint: fake.endpoint, region, credentials })`;
 * queue URLs are `{endpoint}/000000000000/{name}`.
 *
 * What it models: visibility (a received message is hidden for the queue's or the call's
 * `VisibilityTimeout`, `ChangeMessageVisibility` moves that, only the latest receipt handle
 * counts), `ApproximateReceiveCount`, a redrive policy (a message received `maxReceiveCount`
 * times moves to the dead-letter queue on its next receive), `MessageRetentionPeriod` (a
 * dead-lettered message keeps its original enqueue time, as in standard queues), the SQS
 * character set and the 256 KiB size limits, and short long-polls (`WaitTimeSeconds`, capped at
 * `maxWaitMs` of real time). Time comes from `now` so a test can simulate hours.
 *
 * What it does NOT model (the worker's unit tests cover what the code must survive):
 * - ordering: messages come back in the order they were stored; real standard queues reorder;
 * - at-least-once delivery: a message is never returned twice while hidden, never returned to
 *   two receivers at once, never resurrected after a delete; real SQS may do all of these;
 * - sampling: a receive sees every visible message; real short polls may return fewer, or none;
 * - approximate counters: `ApproximateNumberOf*` are exact here;
 * - exact visibility semantics: the 12-hour cap on the total in-flight time, the 120,000
 *   in-flight limit, `DelaySeconds`, message attributes, FIFO queues, KMS, permissions,
 *   throttling (inject it with `failNext`), and a move task's asynchronous progress (a redrive
 *   finishes within the call).
 *
 * ```ts
 * const sqs = await startSqsFake({ now: () => clock });
 * const { url } = sqs.createQueue('work', { deadLetter: { queueName: 'work-dlq', maxReceiveCount: 5 } });
 * sqs.failNext(1, { operation: 'SendMessageBatch', status: 500, type: 'InternalError' });
 * await sqs.close();
 * ```
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import {
  MAX_QUEUE_BATCH_BYTES,
  MAX_QUEUE_BATCH_ENTRIES,
  MAX_QUEUE_MESSAGE_BYTES,
  SQS_MAX_VISIBILITY_SECONDS,
} from '../lib/limits.js';
import { listenOnLoopback } from './loopback-server.js';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
/** SQS's defaults for a new queue. */
const DEFAULT_VISIBILITY_SECONDS = 30;
const DEFAULT_RETENTION_SECONDS = 345_600;
/** The most messages one `ReceiveMessage` returns (SQS's limit; the worker asks for at most this). */
const MAX_RECEIVE_MESSAGES = 10;
/** How often a long-poll looks again for a visible message, in real milliseconds. */
const POLL_INTERVAL_MS = 10;
/** Characters SQS accepts in a body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF. */
const INVALID_BODY_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** A message as the fake holds it (a copy is handed out by `messages()`). */
export interface FakeMessage {
  messageId: string;
  body: string;
  /** Fake-clock epoch ms of the enqueue (kept when the message is dead-lettered). */
  sentAt: number;
  /** Fake-clock epoch ms from which the message can be received. */
  visibleAt: number;
  receiveCount: number;
  /** Fake-clock epoch ms of each receive, in order. */
  receives: number[];
  /** The queue it was dead-lettered from, for a redrive to its source. */
  sourceQueue?: string;
}

interface Queue {
  name: string;
  visibilitySeconds: number;
  retentionSeconds: number;
  redrive?: { deadLetterQueue: string; maxReceiveCount: number };
  messages: FakeMessage[];
  /** receipt handle → message id, for the latest receive of each message only. */
  handles: Map<string, string>;
}

/** One call as the fake saw it. */
export interface SqsCall {
  operation: string;
  queue: string | undefined;
  /** The error type answered, or `undefined`. */
  error: string | undefined;
}

export interface SqsFakeOptions {
  /** Port on 127.0.0.1; 0 (any free port) by default. */
  port?: number;
  /** The fake's clock (epoch ms) for visibility, retention and timestamps; `Date.now` by default. */
  now?: () => number;
  /** The longest real time a `WaitTimeSeconds` receive is held; 200 ms by default. */
  maxWaitMs?: number;
  /** Keep every call in `log` (tests); false for a long-running server, whose log would only grow. True by default. */
  recordCalls?: boolean;
}

export interface CreateFakeQueueOptions {
  visibilityTimeoutSeconds?: number;
  retentionSeconds?: number;
  /** Creates `queueName` too (if needed) and sets the redrive policy. */
  deadLetter?: { queueName: string; maxReceiveCount: number; retentionSeconds?: number };
}

export interface SqsFake {
  /** Base URL for the SDK's `endpoint`, e.g. `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Every call so far, in order (a copy). */
  readonly log: SqsCall[];
  /** Creates a queue (idempotent) and returns its URL and ARN. */
  createQueue(name: string, options?: CreateFakeQueueOptions): { url: string; arn: string };
  queueUrl(name: string): string;
  queueArn(name: string): string;
  /** Visible and in-flight (hidden) messages, after retention has been applied. */
  counts(name: string): { visible: number; inFlight: number };
  /** The messages a queue holds (copies). */
  messages(name: string): FakeMessage[];
  /** The earliest fake time at which a hidden message becomes visible again, in any queue. */
  nextVisibleAt(): number | undefined;
  /** Moves every message of `deadLetterQueue` to `destination`, or back to each one's source queue. */
  redrive(deadLetterQueue: string, destination?: string): number;
  /** Answers the next `count` calls (of `operation`, when given) with `status` and error `type`. */
  failNext(count: number, failure: { operation?: string; status: number; type: string }): void;
  /** Reports the next `count` SendMessageBatch entries as Failed (`InternalError`, not the sender's fault). */
  failEntriesNext(count: number): void;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** An error answered to the SDK: status, the query-compatible code, and the JSON `__type`. */
class SqsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly queryCode: string,
    message: string,
  ) {
    super(message);
  }
}

const errors = {
  noQueue: () =>
    new SqsError(
      400,
      'QueueDoesNotExist',
      'AWS.SimpleQueueService.NonExistentQueue',
      'The specified queue does not exist.',
    ),
  invalid: (message: string) => new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', message),
  invalidContents: () =>
    new SqsError(400, 'InvalidMessageContents', 'InvalidMessageContents', 'Invalid characters found.'),
  handle: () =>
    new SqsError(404, 'ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The receipt handle is not valid.'),
  notInFlight: () =>
    new SqsError(
      400,
      'MessageNotInflight',
      'AWS.SimpleQueueService.MessageNotInflight',
      'Message is not in flight.',
    ),
  /** The errors of a whole batch call, named by their type; SQS prefixes their query codes. */
  batch: (type: string, message: string) =>
    new SqsError(400, type, `AWS.SimpleQueueService.${type}`, message),
  noSource: () =>
    new SqsError(404, 'ResourceNotFoundException', 'ResourceNotFoundException', 'No such source.'),
  unsupported: (operation: string) =>
    new SqsError(
      400,
      'UnsupportedOperation',
      'AWS.SimpleQueueService.UnsupportedOperation',
      `the fake does not implement ${operation}`,
    ),
  injected: (failure: InjectedFailure) =>
    new SqsError(failure.status, failure.type, failure.type, `fake ${failure.type}`),
  internal: () => new SqsError(500, 'InternalError', 'InternalError', 'fake internal error'),
};

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** A failure `failNext` queued for the next calls (of `operation`, when given). */
interface InjectedFailure {
  operation?: string;
  status: number;
  type: string;
}

/** A message handed to a receiver, with the receipt handle of that receive. */
interface Received {
  message: FakeMessage;
  handle: string;
}

/** The queues and the rules SQS applies to them (visibility, redrive, retention), on the fake's clock. */
class QueueStore {
  readonly queues = new Map<string, Queue>();
  /** Set once the server listens: queue URLs start with it. */
  endpoint = '';

  constructor(readonly now: () => number) {}

  urlOf(name: string): string {
    return `${this.endpoint}/${ACCOUNT}/${name}`;
  }

  arnOf(name: string): string {
    return `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
  }

  create(name: string, options: CreateFakeQueueOptions = {}): { url: string; arn: string } {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = {
        name,
        visibilitySeconds: options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_SECONDS,
        retentionSeconds: options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS,
        messages: [],
        handles: new Map(),
      };
      this.queues.set(name, queue);
    }
    const { deadLetter } = options;
    if (deadLetter !== undefined) {
      this.create(deadLetter.queueName, { retentionSeconds: deadLetter.retentionSeconds });
      queue.redrive = { deadLetterQueue: deadLetter.queueName, maxReceiveCount: deadLetter.maxReceiveCount };
    }
    return { url: this.urlOf(name), arn: this.arnOf(name) };
  }

  /** The queue a `QueueUrl` names; throws `QueueDoesNotExist` otherwise. */
  queueOf(url: unknown): Queue {
    const name = typeof url === 'string' ? url.split('/').at(-1) : undefined;
    const queue = name === undefined ? undefined : this.queues.get(name);
    if (queue === undefined) throw errors.noQueue();
    return queue;
  }

  /** Drops messages past their retention; SQS deletes them whatever their state. */
  expire(queue: Queue): void {
    const cutoff = this.now() - queue.retentionSeconds * 1_000;
    queue.messages = queue.messages.filter((message) => message.sentAt > cutoff);
  }

  counts(queue: Queue): { visible: number; inFlight: number } {
    this.expire(queue);
    const visible = queue.messages.filter((m) => m.visibleAt <= this.now()).length;
    return { visible, inFlight: queue.messages.length - visible };
  }

  enqueue(queue: Queue, body: string): FakeMessage {
    const now = this.now();
    const message: FakeMessage = {
      messageId: randomUUID(),
      body,
      sentAt: now,
      visibleAt: now,
      receiveCount: 0,
      receives: [],
    };
    queue.messages.push(message);
    return message;
  }

  /** Receives up to `max` visible messages, first moving those past `maxReceiveCount` to the dead-letter queue. */
  receive(queue: Queue, max: number, visibilitySeconds: number): Received[] {
    this.expire(queue);
    const received: Received[] = [];
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > this.now()) continue;
      const deadLetterQueue = this.deadLetterQueueFor(queue, message);
      if (deadLetterQueue !== undefined) {
        this.moveTo(message, queue, deadLetterQueue, false);
        continue;
      }
      message.receiveCount++;
      message.receives.push(this.now());
      message.visibleAt = this.now() + visibilitySeconds * 1_000;
      forgetHandles(queue, message.messageId);
      const handle = `${message.messageId}#${message.receiveCount}#${randomUUID()}`;
      queue.handles.set(handle, message.messageId);
      received.push({ message, handle });
    }
    return received;
  }

  changeVisibility(queue: Queue, handle: unknown, seconds: unknown): void {
    if (
      typeof seconds !== 'number' ||
      !Number.isInteger(seconds) ||
      seconds < 0 ||
      seconds > SQS_MAX_VISIBILITY_SECONDS
    ) {
      throw errors.invalid(`VisibilityTimeout must be an integer from 0 to ${SQS_MAX_VISIBILITY_SECONDS}.`);
    }
    const id = typeof handle === 'string' ? queue.handles.get(handle) : undefined;
    const message = queue.messages.find((m) => m.messageId === id);
    if (message === undefined) throw errors.handle();
    if (message.visibleAt <= this.now()) throw errors.notInFlight();
    message.visibleAt = this.now() + seconds * 1_000;
  }

  deleteMessage(queue: Queue, handle: unknown): void {
    if (typeof handle !== 'string' || handle === '') throw errors.handle();
    const id = queue.handles.get(handle);
    // A stale receipt handle "succeeds" without deleting, as in SQS.
    if (id === undefined) return;
    queue.handles.delete(handle);
    queue.messages = queue.messages.filter((m) => m.messageId !== id);
  }

  /** Moves every message of `deadLetterQueue` to `destination`, or back to each one's source. */
  redrive(deadLetterQueue: string, destination?: string): number {
    const dlq = this.queues.get(deadLetterQueue);
    if (dlq === undefined) throw errors.noQueue();
    let moved = 0;
    for (const message of [...dlq.messages]) {
      const target = this.queues.get(destination ?? message.sourceQueue ?? '');
      if (target === undefined) continue;
      this.moveTo(message, dlq, target, true);
      moved++;
    }
    return moved;
  }

  nextVisibleAt(): number | undefined {
    let next: number | undefined;
    for (const queue of this.queues.values()) {
      for (const message of queue.messages) {
        if (message.visibleAt > this.now() && (next === undefined || message.visibleAt < next))
          next = message.visibleAt;
      }
    }
    return next;
  }

  private deadLetterQueueFor(queue: Queue, message: FakeMessage): Queue | undefined {
    if (queue.redrive === undefined || message.receiveCount < queue.redrive.maxReceiveCount) return undefined;
    return this.queues.get(queue.redrive.deadLetterQueue);
  }

  /** Moves a message; `fresh` (a redrive) restarts its retention and forgets its source. */
  private moveTo(message: FakeMessage, from: Queue, to: Queue, fresh: boolean): void {
    from.messages = from.messages.filter((m) => m !== message);
    forgetHandles(from, message.messageId);
    to.messages.push({
      ...message,
      sentAt: fresh ? this.now() : message.sentAt,
      visibleAt: this.now(),
      receiveCount: 0,
      receives: [],
      sourceQueue: fresh ? undefined : from.name,
    });
  }
}

/** Only the latest receipt handle of a message counts: earlier ones are forgotten. */
function forgetHandles(queue: Queue, messageId: string): void {
  for (const [handle, id] of queue.handles) if (id === messageId) queue.handles.delete(handle);
}

/** The server's state: the queues, the faults queued for the next calls, and the call log. */
interface SqsState {
  readonly store: QueueStore;
  readonly maxWaitMs: number;
  readonly recordCalls: boolean;
  readonly log: SqsCall[];
  readonly failures: InjectedFailure[];
  /** SendMessageBatch entries still to report as Failed. */
  failingEntries: number;
  /** False once closing: a long-poll stops waiting. */
  listening: boolean;
}

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;
type Operation = (state: SqsState, input: Input) => Output | Promise<Output>;

/** Starts the fake on 127.0.0.1. Rejects if the port cannot be bound. */
export async function startSqsFake(options: SqsFakeOptions = {}): Promise<SqsFake> {
  const state: SqsState = {
    store: new QueueStore(options.now ?? Date.now),
    maxWaitMs: options.maxWaitMs ?? 200,
    recordCalls: options.recordCalls ?? true,
    log: [],
    failures: [],
    failingEntries: 0,
    listening: true,
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void answerCall(state, res, String(req.headers['x-amz-target'] ?? ''), Buffer.concat(chunks));
    });
  });
  const listener = await listenOnLoopback(server, options.port);
  const { store } = state;
  store.endpoint = `http://127.0.0.1:${listener.port}`;
  return {
    endpoint: store.endpoint,
    get log() {
      return [...state.log];
    },
    createQueue: (name, queueOptions) => store.create(name, queueOptions),
    queueUrl: (name) => store.urlOf(name),
    queueArn: (name) => store.arnOf(name),
    counts: (name) => {
      const queue = store.queues.get(name);
      if (queue === undefined) throw new Error(`no queue ${name}`);
      return store.counts(queue);
    },
    messages: (name) =>
      (store.queues.get(name)?.messages ?? []).map((m) => ({ ...m, receives: [...m.receives] })),
    nextVisibleAt: () => store.nextVisibleAt(),
    redrive: (deadLetterQueue, destination) => store.redrive(deadLetterQueue, destination),
    failNext: (count, failure) => {
      for (let i = 0; i < count; i++) state.failures.push(failure);
    },
    failEntriesNext: (count) => {
      state.failingEntries += count;
    },
    close: async () => {
      state.listening = false;
      await listener.close();
    },
  };
}

/** Runs one call of `target` (`AmazonSQS.<Op>`) with JSON body `raw`, logs it and answers it. */
async function answerCall(state: SqsState, res: ServerResponse, target: string, raw: Buffer): Promise<void> {
  const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : target;
  const input = parseInput(raw);
  const queue = typeof input.QueueUrl === 'string' ? input.QueueUrl.split('/').at(-1) : undefined;
  try {
    const injected = takeFailure(state, operation);
    if (injected !== undefined) throw errors.injected(injected);
    const run = OPERATIONS[operation];
    if (run === undefined) throw errors.unsupported(operation);
    const output = await run(state, input);
    if (state.recordCalls) state.log.push({ operation, queue, error: undefined });
    writeAnswer(res, 200, output);
  } catch (error) {
    const failure = error instanceof SqsError ? error : errors.internal();
    if (state.recordCalls) state.log.push({ operation, queue, error: failure.type });
    writeAnswer(
      res,
      failure.status,
      { __type: `com.amazonaws.sqs#${failure.type}`, message: failure.message },
      `${failure.queryCode};Sender`,
    );
  }
}

/** The first failure queued for this operation (or for any), taken off the queue. */
function takeFailure(state: SqsState, operation: string): InjectedFailure | undefined {
  const index = state.failures.findIndex((f) => f.operation === undefined || f.operation === operation);
  return index < 0 ? undefined : state.failures.splice(index, 1)[0];
}

function parseInput(raw: Buffer): Input {
  try {
    return JSON.parse(raw.toString('utf8') || '{}') as Input;
  } catch {
    return {};
  }
}

function writeAnswer(res: ServerResponse, status: number, body: Output, queryError?: string): void {
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'x-amzn-requestid': randomUUID(),
    ...(queryError === undefined ? {} : { 'x-amzn-query-error': queryError }),
  });
  res.end(JSON.stringify(body));
}

// ─── The operations ─────────────────────────────────────────────────────────────────────────

const OPERATIONS: Record<string, Operation> = {
  CreateQueue: createQueue,
  GetQueueUrl: ({ store }, input) => {
    const name = String(input.QueueName);
    if (!store.queues.has(name)) throw errors.noQueue();
    return { QueueUrl: store.urlOf(name) };
  },
  GetQueueAttributes: getQueueAttributes,
  SendMessage: ({ store }, input) => sendOne(store, store.queueOf(input.QueueUrl), input.MessageBody),
  SendMessageBatch: sendMessageBatch,
  ReceiveMessage: receiveMessage,
  DeleteMessage: ({ store }, input) => {
    store.deleteMessage(store.queueOf(input.QueueUrl), input.ReceiptHandle);
    return {};
  },
  DeleteMessageBatch: ({ store }, input) => {
    const queue = store.queueOf(input.QueueUrl);
    return eachEntry<{ Id?: unknown; ReceiptHandle?: unknown }>(input.Entries, (entry) => {
      store.deleteMessage(queue, entry.ReceiptHandle);
      return {};
    });
  },
  ChangeMessageVisibility: ({ store }, input) => {
    store.changeVisibility(store.queueOf(input.QueueUrl), input.ReceiptHandle, input.VisibilityTimeout);
    return {};
  },
  ChangeMessageVisibilityBatch: ({ store }, input) => {
    const queue = store.queueOf(input.QueueUrl);
    type Entry = { Id?: unknown; ReceiptHandle?: unknown; VisibilityTimeout?: unknown };
    return eachEntry<Entry>(input.Entries, (entry) => {
      store.changeVisibility(queue, entry.ReceiptHandle, entry.VisibilityTimeout);
      return {};
    });
  },
  StartMessageMoveTask: ({ store }, input) => {
    const source = nameOfArn(input.SourceArn);
    if (source === undefined || !store.queues.has(source)) throw errors.noSource();
    store.redrive(source, nameOfArn(input.DestinationArn));
    return { TaskHandle: `fake-move-task-${randomUUID()}` };
  },
};

function nameOfArn(arn: unknown): string | undefined {
  return typeof arn === 'string' ? arn.split(':').at(-1) : undefined;
}

function createQueue({ store }: SqsState, input: Input): Output {
  const attributes = (input.Attributes ?? {}) as Record<string, string>;
  const numberOf = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const redrivePolicy =
    attributes.RedrivePolicy === undefined ? undefined : JSON.parse(attributes.RedrivePolicy);
  const deadLetterName = nameOfArn(redrivePolicy?.deadLetterTargetArn);
  const { url } = store.create(String(input.QueueName), {
    visibilityTimeoutSeconds: numberOf(attributes.VisibilityTimeout),
    retentionSeconds: numberOf(attributes.MessageRetentionPeriod),
    ...(deadLetterName === undefined
      ? {}
      : {
          deadLetter: { queueName: deadLetterName, maxReceiveCount: Number(redrivePolicy.maxReceiveCount) },
        }),
  });
  return { QueueUrl: url };
}

function getQueueAttributes({ store }: SqsState, input: Input): Output {
  const queue = store.queueOf(input.QueueUrl);
  const { visible, inFlight } = store.counts(queue);
  const all: Record<string, string> = {
    QueueArn: store.arnOf(queue.name),
    ApproximateNumberOfMessages: String(visible),
    ApproximateNumberOfMessagesNotVisible: String(inFlight),
    ApproximateNumberOfMessagesDelayed: '0',
    VisibilityTimeout: String(queue.visibilitySeconds),
    MessageRetentionPeriod: String(queue.retentionSeconds),
    ...(queue.redrive === undefined
      ? {}
      : {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: store.arnOf(queue.redrive.deadLetterQueue),
            maxReceiveCount: queue.redrive.maxReceiveCount,
          }),
        }),
  };
  const names = (input.AttributeNames ?? []) as string[];
  const wanted = names.includes('All') ? Object.keys(all) : names;
  return { Attributes: Object.fromEntries(wanted.filter((n) => n in all).map((n) => [n, all[n]])) };
}

/** A body SQS would store; throws the error SQS answers otherwise. */
function checkedBody(body: unknown): string {
  if (typeof body !== 'string' || body.length === 0) {
    throw errors.invalid('The message body must be a non-empty string.');
  }
  if (INVALID_BODY_CHARACTER.test(body)) throw errors.invalidContents();
  if (Buffer.byteLength(body) > MAX_QUEUE_MESSAGE_BYTES) {
    throw errors.invalid(
      `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_QUEUE_MESSAGE_BYTES} bytes.`,
    );
  }
  return body;
}

function sendOne(store: QueueStore, queue: Queue, messageBody: unknown): Output {
  const body = checkedBody(messageBody);
  const message = store.enqueue(queue, body);
  return { MessageId: message.messageId, MD5OfMessageBody: md5(body) };
}

function sendMessageBatch(state: SqsState, input: Input): Output {
  const { store } = state;
  const queue = store.queueOf(input.QueueUrl);
  const entries = Array.isArray(input.Entries) ? (input.Entries as { MessageBody?: unknown }[]) : [];
  const total = entries.reduce((sum, e) => sum + Buffer.byteLength(String(e.MessageBody ?? '')), 0);
  if (total > MAX_QUEUE_BATCH_BYTES) throw errors.batch('BatchRequestTooLong', 'Batch too long.');
  const result = eachEntry<{ Id?: unknown; MessageBody?: unknown }>(input.Entries, (entry) =>
    sendOne(store, queue, entry.MessageBody),
  );
  // failEntriesNext: the last stored entries are taken back and reported as SQS's own failures.
  while (state.failingEntries > 0 && result.Successful.length > 0) {
    state.failingEntries--;
    const entry = result.Successful.pop() as { Id: unknown; MessageId: unknown };
    queue.messages = queue.messages.filter((m) => m.messageId !== entry.MessageId);
    result.Failed.push({
      Id: entry.Id,
      SenderFault: false,
      Code: 'InternalError',
      Message: 'fake entry failure',
    });
  }
  return result;
}

async function receiveMessage(state: SqsState, input: Input): Promise<Output> {
  const { store } = state;
  const queue = store.queueOf(input.QueueUrl);
  const max = Number(input.MaxNumberOfMessages ?? 1);
  if (!Number.isInteger(max) || max < 1 || max > MAX_RECEIVE_MESSAGES) {
    throw errors.invalid(`MaxNumberOfMessages must be 1 to ${MAX_RECEIVE_MESSAGES}.`);
  }
  const visibility = Number(input.VisibilityTimeout ?? queue.visibilitySeconds);
  const names = [
    ...((input.AttributeNames ?? []) as string[]),
    ...((input.MessageSystemAttributeNames ?? []) as string[]),
  ];
  // A long-poll is held in real time (capped at maxWaitMs), whatever the fake's clock says.
  const waitUntil = Date.now() + Math.min(Number(input.WaitTimeSeconds ?? 0) * 1_000, state.maxWaitMs);
  let received = store.receive(queue, max, visibility);
  while (received.length === 0 && Date.now() < waitUntil && state.listening) {
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    received = store.receive(queue, max, visibility);
  }
  return { Messages: received.map((r) => messageOut(r, names.length > 0, store.now())) };
}

function messageOut({ message, handle }: Received, withAttributes: boolean, now: number): Output {
  return {
    MessageId: message.messageId,
    ReceiptHandle: handle,
    MD5OfBody: md5(message.body),
    Body: message.body,
    ...(withAttributes
      ? {
          Attributes: {
            SenderId: ACCOUNT,
            SentTimestamp: String(message.sentAt),
            ApproximateReceiveCount: String(message.receiveCount),
            ApproximateFirstReceiveTimestamp: String(message.receives[0] ?? now),
          },
        }
      : {}),
  };
}

/** Runs each entry of a batch call, collecting `Successful` and `Failed` as SQS does. */
function eachEntry<T extends { Id?: unknown }>(
  entries: unknown,
  run: (entry: T) => Output,
): { Successful: Output[]; Failed: Output[] } {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw errors.batch('EmptyBatchRequest', 'There should be at least one entry.');
  }
  if (entries.length > MAX_QUEUE_BATCH_ENTRIES) {
    throw errors.batch('TooManyEntriesInBatchRequest', `At most ${MAX_QUEUE_BATCH_ENTRIES} entries.`);
  }
  const ids = entries.map((entry: T) => entry.Id);
  if (new Set(ids).size !== ids.length) throw errors.batch('BatchEntryIdsNotDistinct', 'Ids repeat.');
  const result = { Successful: [] as Output[], Failed: [] as Output[] };
  for (const entry of entries as T[]) {
    try {
      result.Successful.push({ Id: entry.Id, ...run(entry) });
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      result.Failed.push({ Id: entry.Id, SenderFault: true, Code: error.queryCode, Message: error.message });
    }
  }
  return result;
}
