/** What kind of failure a ToolError is, for machines: callers branch on this, never on the message. */
export type ToolErrorCode = "not_found";

/** An error a handler raises on purpose: its message is safe and useful to show the caller. */
export class ToolError extends Error {
  readonly code: ToolErrorCode | undefined;

  constructor(message: string, options: { code?: ToolErrorCode; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
  }
}
