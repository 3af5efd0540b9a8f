import type { ServerDefinition, Services } from "./define-server.ts";
import { StartupError } from "./governance-context.ts";
import { runServer } from "./run-server.ts";

/** What a failed start prints: one line for a known problem (it says what to do), never a stack. */
export function startupFailureMessage(name: string, err: unknown): string {
  if (err instanceof StartupError) return `${name}: ${err.message}`;
  return `${name} failed to start: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * The whole entry point of a server process: `node src/main.ts [http|stdio]` (Node strips the types). Stops cleanly on
 * SIGTERM/SIGINT and exits 1 with the reason when start-up fails.
 */
export function serveFromCommandLine<S extends Services>(
  def: ServerDefinition<S>,
  argv = process.argv,
): void {
  const transport = argv[2] === "stdio" ? "stdio" : "http";
  runServer(def, transport).then(
    (running) => {
      const stop = () => void running.close().finally(() => process.exit(0));
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    },
    (err: unknown) => {
      process.stderr.write(`${startupFailureMessage(def.name, err)}\n`);
      process.exit(1);
    },
  );
}
