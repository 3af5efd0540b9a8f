import type { ServerDefinition, Services } from "./define-server.ts";
import { runServer } from "./run-server.ts";

/**
 * The whole entry point of a server process: `tsx src/main.ts [http|stdio]`. Stops cleanly on
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
    (err: Error) => {
      process.stderr.write(`${def.name} failed to start: ${err.message}\n`);
      process.exit(1);
    },
  );
}
