/**
 * The local SQS stand-in (local/sqs-stand-in.ts) in a process of its own, for the same reason
 * as bench/stand-in-server.ts: its work (parsing each batch, the MD5 digests) must not share the
 * event loop of the handler being timed; real SQS runs elsewhere too. Prints `{"endpoint": ...}`
 * once listening and runs until its stdin closes. Queues are created through the SDK (CreateQueue).
 */
import { startSqsFake } from '../local/sqs-stand-in.js';

const sqs = await startSqsFake({ recordCalls: false });
process.stdout.write(`${JSON.stringify({ endpoint: sqs.endpoint })}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void sqs.close().then(() => process.exit(0));
});
