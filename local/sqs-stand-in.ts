/**
 * The local queue of `DELIVERY_MODE=queued npm start` (bin/start.ts) and the tests' SQS stand-in
 * (re-exported by test/support/sqs-fake.ts). Nothing in functions/ imports it, so it never
 * reaches a Lambda bundle.
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
import type { AddressInfo } from 'node:net';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
/** SQS's classic limit for one message and for the bodies of one batch. */
const MAX_MESSAGE_BYTES = 256 * 1_024;
const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS's defaults for a new queue. */
const DEFAULT_VISIBILITY_SECONDS = 30;
const DEFAULT_RETENTION_SECONDS = 345_600;
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
  handle: () =>
    new SqsError(404, 'ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', 'The receipt handle is not valid.'),
  notInFlight: () =>
    new SqsError(
      400,
      'MessageNotInflight',
      'AWS.SimpleQueueService.MessageNotInflight',
      'Message is not in flight.',
    ),
};

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

/** Starts the fake on 127.0.0.1. Rejects if the port cannot be bound. */
export async function startSqsFake(options: SqsFakeOptions = {}): Promise<SqsFake> {
  const now = options.now ?? Date.now;
  const maxWaitMs = options.maxWaitMs ?? 200;
  const queues = new Map<string, Queue>();
  const log: SqsCall[] = [];
  const failures: { operation?: string; status: number; type: string }[] = [];
  let failingEntries = 0;
  let endpoint = '';
  let listening = true;

  const urlOf = (name: string) => `${endpoint}/${ACCOUNT}/${name}`;
  const arnOf = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;
  const nameOfArn = (arn: unknown) => (typeof arn === 'string' ? arn.split(':').at(-1) : undefined);

  const createQueue = (name: string, opts: CreateFakeQueueOptions = {}) => {
    let queue = queues.get(name);
    if (queue === undefined) {
      queue = {
        name,
        visibilitySeconds: opts.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_SECONDS,
        retentionSeconds: opts.retentionSeconds ?? DEFAULT_RETENTION_SECONDS,
        messages: [],
        handles: new Map(),
      };
      queues.set(name, queue);
    }
    if (opts.deadLetter !== undefined) {
      createQueue(opts.deadLetter.queueName, { retentionSeconds: opts.deadLetter.retentionSeconds });
      queue.redrive = {
        deadLetterQueue: opts.deadLetter.queueName,
        maxReceiveCount: opts.deadLetter.maxReceiveCount,
      };
    }
    return { url: urlOf(name), arn: arnOf(name) };
  };

  const queueOf = (url: unknown): Queue => {
    const name = typeof url === 'string' ? url.split('/').at(-1) : undefined;
    const queue = name === undefined ? undefined : queues.get(name);
    if (queue === undefined) throw errors.noQueue();
    return queue;
  };

  /** Drops messages past their retention; SQS deletes them whatever their state. */
  const expire = (queue: Queue) => {
    const cutoff = now() - queue.retentionSeconds * 1_000;
    queue.messages = queue.messages.filter((message) => message.sentAt > cutoff);
  };

  const checkBody = (body: unknown): string | SqsError => {
    if (typeof body !== 'string' || body.length === 0)
      return errors.invalid('The message body must be a non-empty string.');
    if (INVALID_BODY_CHARACTER.test(body)) {
      return new SqsError(
        400,
        'InvalidMessageContents',
        'InvalidMessageContents',
        'Invalid characters found.',
      );
    }
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
      return errors.invalid(
        `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`,
      );
    }
    return body;
  };

  const enqueue = (queue: Queue, body: string): FakeMessage => {
    const message: FakeMessage = {
      messageId: randomUUID(),
      body,
      sentAt: now(),
      visibleAt: now(),
      receiveCount: 0,
      receives: [],
    };
    queue.messages.push(message);
    return message;
  };

  const moveTo = (message: FakeMessage, from: Queue, to: Queue, fresh: boolean) => {
    from.messages = from.messages.filter((m) => m !== message);
    for (const [handle, id] of from.handles) if (id === message.messageId) from.handles.delete(handle);
    to.messages.push({
      ...message,
      sentAt: fresh ? now() : message.sentAt,
      visibleAt: now(),
      receiveCount: 0,
      receives: [],
      ...(fresh ? { sourceQueue: undefined } : { sourceQueue: from.name }),
    });
  };

  const receiveNow = (queue: Queue, max: number, visibilitySeconds: number) => {
    expire(queue);
    const received: { message: FakeMessage; handle: string }[] = [];
    for (const message of [...queue.messages]) {
      if (received.length >= max) break;
      if (message.visibleAt > now()) continue;
      if (queue.redrive !== undefined && message.receiveCount >= queue.redrive.maxReceiveCount) {
        const dlq = queues.get(queue.redrive.deadLetterQueue);
        if (dlq !== undefined) {
          moveTo(message, queue, dlq, false);
          continue;
        }
      }
      message.receiveCount++;
      message.receives.push(now());
      message.visibleAt = now() + visibilitySeconds * 1_000;
      for (const [handle, id] of queue.handles) if (id === message.messageId) queue.handles.delete(handle);
      const handle = `${message.messageId}#${message.receiveCount}#${randomUUID()}`;
      queue.handles.set(handle, message.messageId);
      received.push({ message, handle });
    }
    return received;
  };

  const changeVisibility = (queue: Queue, handle: unknown, seconds: unknown) => {
    if (
      typeof seconds !== 'number' ||
      !Number.isInteger(seconds) ||
      seconds < 0 ||
      seconds > MAX_VISIBILITY_SECONDS
    ) {
      throw errors.invalid(`VisibilityTimeout must be an integer from 0 to ${MAX_VISIBILITY_SECONDS}.`);
    }
    const id = typeof handle === 'string' ? queue.handles.get(handle) : undefined;
    const message = queue.messages.find((m) => m.messageId === id);
    if (message === undefined) throw errors.handle();
    if (message.visibleAt <= now()) throw errors.notInFlight();
    message.visibleAt = now() + seconds * 1_000;
  };

  const deleteMessage = (queue: Queue, handle: unknown) => {
    if (typeof handle !== 'string' || handle === '') throw errors.handle();
    const id = queue.handles.get(handle);
    // A stale receipt handle "succeeds" without deleting, as in SQS.
    if (id === undefined) return;
    queue.handles.delete(handle);
    queue.messages = queue.messages.filter((m) => m.messageId !== id);
  };

  const redrive = (deadLetterQueue: string, destination?: string) => {
    const dlq = queues.get(deadLetterQueue);
    if (dlq === undefined) throw errors.noQueue();
    let moved = 0;
    for (const message of [...dlq.messages]) {
      const target = queues.get(destination ?? message.sourceQueue ?? '');
      if (target === undefined) continue;
      moveTo(message, dlq, target, true);
      moved++;
    }
    return moved;
  };

  /** Runs each entry of a batch call, collecting `Successful` and `Failed` as SQS does. */
  const eachEntry = <T extends { Id?: unknown }>(
    entries: unknown,
    run: (entry: T) => Record<string, unknown>,
  ): { Successful: Record<string, unknown>[]; Failed: Record<string, unknown>[] } => {
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new SqsError(
        400,
        'EmptyBatchRequest',
        'AWS.SimpleQueueService.EmptyBatchRequest',
        'There should be at least one entry.',
      );
    }
    if (entries.length > 10) {
      throw new SqsError(
        400,
        'TooManyEntriesInBatchRequest',
        'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
        'At most 10 entries.',
      );
    }
    const ids = entries.map((entry: T) => entry.Id);
    if (new Set(ids).size !== ids.length) {
      throw new SqsError(
        400,
        'BatchEntryIdsNotDistinct',
        'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
        'Ids repeat.',
      );
    }
    const result = { Successful: [] as Record<string, unknown>[], Failed: [] as Record<string, unknown>[] };
    for (const entry of entries as T[]) {
      try {
        result.Successful.push({ Id: entry.Id, ...run(entry) });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        result.Failed.push({
          Id: entry.Id,
          SenderFault: true,
          Code: error.queryCode,
          Message: error.message,
        });
      }
    }
    return result;
  };

  const messageOut = (
    { message, handle }: { message: FakeMessage; handle: string },
    withAttributes: boolean,
  ) => ({
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
            ApproximateFirstReceiveTimestamp: String(message.receives[0] ?? now()),
          },
        }
      : {}),
  });

  type Input = Record<string, unknown>;
  const operations: Record<
    string,
    (input: Input) => Promise<Record<string, unknown>> | Record<string, unknown>
  > = {
    CreateQueue: (input) => {
      const attributes = (input.Attributes ?? {}) as Record<string, string>;
      const redrivePolicy =
        attributes.RedrivePolicy === undefined ? undefined : JSON.parse(attributes.RedrivePolicy);
      const deadLetterName = nameOfArn(redrivePolicy?.deadLetterTargetArn);
      const { url } = createQueue(String(input.QueueName), {
        visibilityTimeoutSeconds:
          attributes.VisibilityTimeout === undefined ? undefined : Number(attributes.VisibilityTimeout),
        retentionSeconds:
          attributes.MessageRetentionPeriod === undefined
            ? undefined
            : Number(attributes.MessageRetentionPeriod),
        ...(deadLetterName === undefined
          ? {}
          : {
              deadLetter: {
                queueName: deadLetterName,
                maxReceiveCount: Number(redrivePolicy.maxReceiveCount),
              },
            }),
      });
      return { QueueUrl: url };
    },
    GetQueueUrl: (input) => {
      const name = String(input.QueueName);
      if (!queues.has(name)) throw errors.noQueue();
      return { QueueUrl: urlOf(name) };
    },
    GetQueueAttributes: (input) => {
      const queue = queueOf(input.QueueUrl);
      expire(queue);
      const visible = queue.messages.filter((m) => m.visibleAt <= now()).length;
      const all: Record<string, string> = {
        QueueArn: arnOf(queue.name),
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
        ApproximateNumberOfMessagesDelayed: '0',
        VisibilityTimeout: String(queue.visibilitySeconds),
        MessageRetentionPeriod: String(queue.retentionSeconds),
        ...(queue.redrive === undefined
          ? {}
          : {
              RedrivePolicy: JSON.stringify({
                deadLetterTargetArn: arnOf(queue.redrive.deadLetterQueue),
                maxReceiveCount: queue.redrive.maxReceiveCount,
              }),
            }),
      };
      const names = (input.AttributeNames ?? []) as string[];
      const wanted = names.includes('All') ? Object.keys(all) : names;
      return { Attributes: Object.fromEntries(wanted.filter((n) => n in all).map((n) => [n, all[n]])) };
    },
    SendMessage: (input) => {
      const queue = queueOf(input.QueueUrl);
      const body = checkBody(input.MessageBody);
      if (body instanceof SqsError) throw body;
      const message = enqueue(queue, body);
      return { MessageId: message.messageId, MD5OfMessageBody: md5(body) };
    },
    SendMessageBatch: (input) => {
      const queue = queueOf(input.QueueUrl);
      const entries = Array.isArray(input.Entries) ? (input.Entries as { MessageBody?: unknown }[]) : [];
      const total = entries.reduce((sum, e) => sum + Buffer.byteLength(String(e.MessageBody ?? '')), 0);
      if (total > MAX_MESSAGE_BYTES) {
        throw new SqsError(
          400,
          'BatchRequestTooLong',
          'AWS.SimpleQueueService.BatchRequestTooLong',
          'Batch too long.',
        );
      }
      const result = eachEntry<{ Id?: unknown; MessageBody?: unknown }>(input.Entries, (entry) => {
        const body = checkBody(entry.MessageBody);
        if (body instanceof SqsError) throw body;
        const message = enqueue(queue, body);
        return { MessageId: message.messageId, MD5OfMessageBody: md5(body) };
      });
      while (failingEntries > 0 && result.Successful.length > 0) {
        failingEntries--;
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
    },
    ReceiveMessage: async (input) => {
      const queue = queueOf(input.QueueUrl);
      const max = Number(input.MaxNumberOfMessages ?? 1);
      if (!Number.isInteger(max) || max < 1 || max > 10)
        throw errors.invalid('MaxNumberOfMessages must be 1 to 10.');
      const visibility = Number(input.VisibilityTimeout ?? queue.visibilitySeconds);
      const names = [
        ...((input.AttributeNames ?? []) as string[]),
        ...((input.MessageSystemAttributeNames ?? []) as string[]),
      ];
      const waitUntil = Date.now() + Math.min(Number(input.WaitTimeSeconds ?? 0) * 1_000, maxWaitMs);
      let received = receiveNow(queue, max, visibility);
      while (received.length === 0 && Date.now() < waitUntil && listening) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        received = receiveNow(queue, max, visibility);
      }
      return { Messages: received.map((r) => messageOut(r, names.length > 0)) };
    },
    DeleteMessage: (input) => {
      deleteMessage(queueOf(input.QueueUrl), input.ReceiptHandle);
      return {};
    },
    DeleteMessageBatch: (input) => {
      const queue = queueOf(input.QueueUrl);
      return eachEntry<{ Id?: unknown; ReceiptHandle?: unknown }>(input.Entries, (entry) => {
        deleteMessage(queue, entry.ReceiptHandle);
        return {};
      });
    },
    ChangeMessageVisibility: (input) => {
      changeVisibility(queueOf(input.QueueUrl), input.ReceiptHandle, input.VisibilityTimeout);
      return {};
    },
    ChangeMessageVisibilityBatch: (input) => {
      const queue = queueOf(input.QueueUrl);
      return eachEntry<{ Id?: unknown; ReceiptHandle?: unknown; VisibilityTimeout?: unknown }>(
        input.Entries,
        (entry) => {
          changeVisibility(queue, entry.ReceiptHandle, entry.VisibilityTimeout);
          return {};
        },
      );
    },
    StartMessageMoveTask: (input) => {
      const source = nameOfArn(input.SourceArn);
      const destination = nameOfArn(input.DestinationArn);
      if (source === undefined || !queues.has(source))
        throw new SqsError(404, 'ResourceNotFoundException', 'ResourceNotFoundException', 'No such source.');
      redrive(source, destination);
      return { TaskHandle: `fake-move-task-${randomUUID()}` };
    },
  };

  const answer = (
    res: ServerResponse,
    status: number,
    body: Record<string, unknown>,
    queryError?: string,
  ) => {
    res.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomUUID(),
      ...(queryError === undefined ? {} : { 'x-amzn-query-error': queryError }),
    });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : target;
      let input: Input = {};
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Input;
      } catch {
        input = {};
      }
      const queue = typeof input.QueueUrl === 'string' ? input.QueueUrl.split('/').at(-1) : undefined;
      const index = failures.findIndex((f) => f.operation === undefined || f.operation === operation);
      try {
        if (index >= 0) {
          const [failure] = failures.splice(index, 1);
          if (failure !== undefined)
            throw new SqsError(failure.status, failure.type, failure.type, `fake ${failure.type}`);
        }
        const run = operations[operation];
        if (run === undefined)
          throw new SqsError(
            400,
            'UnsupportedOperation',
            'AWS.SimpleQueueService.UnsupportedOperation',
            `the fake does not implement ${operation}`,
          );
        const output = await run(input);
        if (options.recordCalls !== false) log.push({ operation, queue, error: undefined });
        answer(res, 200, output);
      } catch (error) {
        const failure =
          error instanceof SqsError
            ? error
            : new SqsError(500, 'InternalError', 'InternalError', 'fake internal error');
        if (options.recordCalls !== false) log.push({ operation, queue, error: failure.type });
        answer(
          res,
          failure.status,
          { __type: `com.amazonaws.sqs#${failure.type}`, message: failure.message },
          `${failure.queryCode};Sender`,
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    get log() {
      return [...log];
    },
    createQueue,
    queueUrl: urlOf,
    queueArn: arnOf,
    counts: (name) => {
      const queue = queues.get(name);
      if (queue === undefined) throw new Error(`no queue ${name}`);
      expire(queue);
      const visible = queue.messages.filter((m) => m.visibleAt <= now()).length;
      return { visible, inFlight: queue.messages.length - visible };
    },
    messages: (name) => (queues.get(name)?.messages ?? []).map((m) => ({ ...m, receives: [...m.receives] })),
    nextVisibleAt: () => {
      let next: number | undefined;
      for (const queue of queues.values()) {
        for (const message of queue.messages) {
          if (message.visibleAt > now() && (next === undefined || message.visibleAt < next))
            next = message.visibleAt;
        }
      }
      return next;
    },
    redrive,
    failNext: (count, failure) => {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    failEntriesNext: (count) => {
      failingEntries += count;
    },
    close: async () => {
      listening = false;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
