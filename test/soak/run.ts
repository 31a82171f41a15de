/**
 * `npm run soak [-- --messages N --fault-rate R --concurrency C --seed S --rotations K]`, or the
 * same through SOAK_MESSAGES, SOAK_FAULT_RATE, SOAK_CONCURRENCY, SOAK_SEED, SOAK_ROTATIONS.
 * Prints the reconciliation table; exits 1 when a message was lost or misreported.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_SOAK_OPTIONS, formatReport, runSoak, type SoakOptions, soakPassed } from './soak.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string' },
    'fault-rate': { type: 'string' },
    concurrency: { type: 'string' },
    seed: { type: 'string' },
    rotations: { type: 'string' },
  },
});

function numberOption(argv: string | undefined, env: string | undefined, fallback: number, name: string) {
  const raw = argv ?? env;
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`soak: --${name} must be a non-negative number, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return value;
}

const env = process.env;
const options: SoakOptions = {
  ...DEFAULT_SOAK_OPTIONS,
  messages: numberOption(values.messages, env.SOAK_MESSAGES, DEFAULT_SOAK_OPTIONS.messages, 'messages'),
  faultRate: numberOption(
    values['fault-rate'],
    env.SOAK_FAULT_RATE,
    DEFAULT_SOAK_OPTIONS.faultRate,
    'fault-rate',
  ),
  concurrency: numberOption(
    values.concurrency,
    env.SOAK_CONCURRENCY,
    DEFAULT_SOAK_OPTIONS.concurrency,
    'concurrency',
  ),
  seed: numberOption(values.seed, env.SOAK_SEED, DEFAULT_SOAK_OPTIONS.seed, 'seed'),
  rotations: numberOption(values.rotations, env.SOAK_ROTATIONS, DEFAULT_SOAK_OPTIONS.rotations, 'rotations'),
  serverLogFile: env.SOAK_SERVER_LOG,
  progress: (line) => process.stderr.write(`[soak] ${line}\n`),
};

const report = await runSoak(options);
process.stdout.write(`${formatReport(report)}\n`);
const r = report.reconciliation;
if (r.lost.length > 0)
  process.stdout.write(`lost messageIds (first 20): ${r.lost.slice(0, 20).join(', ')}\n`);
if (r.misreported.length > 0) {
  process.stdout.write(`misreported (first 10): ${JSON.stringify(r.misreported.slice(0, 10))}\n`);
}
for (const outcome of report.outcomesWithMisreports.slice(0, 5)) {
  process.stdout.write(
    `batch ${outcome.batch.batchNo} (${outcome.batch.route}, ${outcome.batch.messages.length} messages, answers ${outcome.answers.join(' ')}): ${outcome.final?.excerpt}\n`,
  );
}
if (r.wrongDeliveries.length > 0) {
  process.stdout.write(`wrong deliveries (first 10): ${r.wrongDeliveries.slice(0, 10).join(', ')}\n`);
}
const passed = soakPassed(report);
process.stdout.write(passed ? 'soak passed: nothing lost\n' : 'soak FAILED\n');
process.exit(passed ? 0 : 1);
