/** The SQS stand-in the tests use: the local queue of `npm start`, which lives in lib/queue. */
export * from '../../lib/queue/local-sqs.js';
