import pino, { type Logger } from "pino";

/** Structured logs to stderr: stdout is the stdio transport's wire, one stray line would corrupt it. */
export function createLogger(name: string, level: string): Logger {
  return pino(
    {
      level,
      base: { server: name },
      redact: {
        paths: ["token", "authorization", "*.token", "*.authorization", "req.headers.authorization"],
        censor: "[redacted]",
      },
    },
    pino.destination(2),
  );
}
