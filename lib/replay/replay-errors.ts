/** The errors that end a replay before or while it reads its input; each maps to exit status 2. */

/** Thrown when an input cannot be opened or read (missing file, a directory, corrupt gzip data). */
export class ReplayInputError extends Error {
  override name = 'ReplayInputError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when the checkpoint file cannot be used: unreadable, not a checkpoint this command
 * wrote, or written for a different input (other paths or sizes). The message says what to do.
 */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Describes a file-system or zlib error by its code and message (neither quotes file contents). */
export function describeIoError(error: unknown): string {
  if (!(error instanceof Error)) return 'read failed';
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || error.message.includes(code)) return error.message;
  return `${error.message} (${code})`;
}
