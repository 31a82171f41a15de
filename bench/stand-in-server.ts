/**
 * The one Candu stand-in (local/candu-stand-in.ts) in a process of its own, so that its work
 * (reading and parsing every request) does not share the event loop of the handler being timed:
 * the real Candu runs elsewhere too. Prints `{"url": ...}` once listening, then answers commands
 * on stdin, one per line, each with one JSON line on stdout:
 * `delay <ms>` → `{"ok":true}`; `reset` → `{"requests":N,"events":M}` (what it saw since the last
 * reset, then forgets it).
 */
import { createInterface } from 'node:readline';
import { startCanduStandIn } from '../local/candu-stand-in.js';

const candu = await startCanduStandIn({ acceptedKey: process.env.BENCH_CANDU_KEY });
const reply = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
reply({ url: candu.url });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, argument] = line.trim().split(' ');
  if (command === 'delay') {
    candu.setDelay(Number(argument));
    reply({ ok: true });
  } else if (command === 'reset') {
    const requests = candu.requests;
    reply({ requests: requests.length, events: requests.reduce((sum, r) => sum + r.events.length, 0) });
    candu.reset();
  } else {
    reply({ error: `unknown command ${JSON.stringify(line)}` });
  }
});
lines.on('close', () => {
  void candu.close().then(() => process.exit(0));
});
