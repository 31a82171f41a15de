#!/usr/bin/env node
/**
 * `candu-destination <command> [args]`, the package's `bin` entry (`npx candu-destination replay
 * ...`): loads tsx's ESM hooks in this process and runs `bin/<command>.ts`, which reads its
 * arguments from `process.argv` as under `npm run`.
 */
import { register } from 'tsx/esm/api';

const COMMANDS = { replay: './replay.ts', translate: './translate.ts' };
const USAGE = `Usage: candu-destination <command> [args]

Commands:
  replay      send JSON Lines exports of Segment or RudderStack messages to Candu (--help for more)
  translate   show what would be sent to Candu for some messages (--help for more)
`;

const command = process.argv[2];
if (command === undefined || command === '-h' || command === '--help') {
  process.stdout.write(USAGE);
  process.exit(command === undefined ? 2 : 0);
}
const target = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
if (target === undefined) {
  process.stderr.write(`candu-destination: unknown command ${JSON.stringify(command)} (replay, translate)\n`);
  process.exit(2);
}
// The command sees its own arguments at process.argv[2...], as it does when run by tsx directly.
process.argv.splice(2, 1);
register();
await import(new URL(target, import.meta.url).href);
