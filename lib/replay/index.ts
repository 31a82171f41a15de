export {
  type CheckpointFiles,
  type CheckpointState,
  type CheckpointWriter,
  createCheckpointWriter,
  type InputIdentity,
  loadCheckpoint,
  nodeCheckpointFiles,
} from './checkpoint.js';
export {
  CHUNK_ATTEMPTS,
  type ChunkResult,
  type ChunkSender,
  type ChunkSenderDeps,
  createChunkSender,
  REPLAY_ACK_MEMORY_ENTRIES,
} from './chunk-sender.js';
export { missingHeapFlags, REPLAY_HEAP_FLAGS } from './heap-sizing.js';
export {
  type InputLine,
  isGzip,
  type LineSource,
  type ReplayInput,
  readLines,
  resolveInputs,
  STDIN_NAME,
  type StandardInput,
} from './input-lines.js';
export { parseInstant, parseTypes, type ReplaySelection } from './message-filter.js';
export {
  createProgress,
  createRateSmoother,
  formatInterrupted,
  formatProgressBar,
  formatStatusLine,
  formatSummary,
  type Interruption,
  type Progress,
  type ProgressDeps,
  type ProgressOutput,
  type ProgressView,
  RATE_HALF_LIFE_MS,
  type RateSmoother,
  type Rates,
} from './progress.js';
export { createRateLimiter, type RateLimiter, type RateLimiterDeps } from './rate-limiter.js';
export {
  createCounters,
  type ReplayCounters,
  type ReplayDeps,
  type ReplayOptions,
  type ReplayStop,
  type ReplaySummary,
  runReplay,
} from './replay.js';
export { CheckpointError, describeIoError, ReplayInputError } from './replay-errors.js';
export {
  createReportWriter,
  formatReportLine,
  type LineOutcome,
  type LineReport,
  type ReportSink,
} from './report.js';
