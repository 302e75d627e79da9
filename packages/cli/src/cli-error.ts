/** Why the CLI stopped, as data. Each is a mistake in the command or its inputs, and exits with 2. */
export const CliErrorCode = {
  /** Unknown command or option, or a missing or bad option value. */
  usage: 'usage',
  /** A file named on the command line does not exist or cannot be read. */
  missingFile: 'missing-file',
  /** The registry module failed to load or exports no registry. */
  badRegistry: 'bad-registry',
  /** The snapshot file is not a valid snapshot. */
  badSnapshot: 'bad-snapshot',
} as const;

/** One of the values of {@link CliErrorCode}. */
export type CliErrorCode = (typeof CliErrorCode)[keyof typeof CliErrorCode];

/** The error the CLI reports to its user: a code, a message meant for a terminal, and its `cause`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { readonly cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
