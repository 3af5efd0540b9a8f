/**
 * A mistake in how the command was called (unknown command or option, a missing or bad value, an unknown
 * server or person). main.ts prints its message as one line on stderr and exits 2, with no stack trace.
 */
export class UsageError extends Error {}
