import { defaultDataDir, openStore, type Store } from "@gatehouse/store";
import type { ConsoleTool } from "./app.ts";
import { consoleConfigFromEnv } from "./config.ts";
import { startConsole } from "./console-server.ts";

/**
 * The tools the kill-switch view lists: CONSOLE_TOOLS (server/tool,…) when set, else every tool the audit
 * trail has seen called; a deployment that runs the console alone may not have the servers' code at hand.
 */
async function toolsFor(store: Store, env: NodeJS.ProcessEnv): Promise<ConsoleTool[]> {
  const listed = env.CONSOLE_TOOLS?.trim();
  if (listed) {
    return listed.split(",").map((entry) => {
      const [server, tool] = entry.trim().split("/");
      if (!server || !tool)
        throw new Error(`CONSOLE_TOOLS: "${entry}" is not server/tool (e.g. order-lookup/get_order)`);
      return { server, tool, kind: "-" };
    });
  }
  const seen = await store.db
    .selectFrom("audit_events")
    .select(["server", "tool"])
    .distinct()
    .where("type", "=", "tool.requested")
    .where("tool", "is not", null)
    .orderBy("server")
    .orderBy("tool")
    .execute();
  return seen.map((r) => ({ server: r.server, tool: r.tool!, kind: "-" }));
}

/** `node packages/console/src/main.ts`: the console alone, on the store named by DATABASE_URL (or the embedded one). */
async function main(): Promise<void> {
  const config = consoleConfigFromEnv();
  const store = openStore({
    databaseUrl: process.env.DATABASE_URL || undefined,
    sqlitePath: `${process.env.GATEHOUSE_DATA_DIR || defaultDataDir()}/gatehouse.db`,
  });
  const running = await startConsole({
    config,
    store,
    tools: await toolsFor(store, process.env),
    env: process.env.GATEHOUSE_ENV || "production",
  });
  process.stderr.write(`Gatehouse console on ${running.url}\n`);
  const stop = async () => {
    await running.close();
    await store.close();
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`console failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
