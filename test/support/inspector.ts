import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const inspectorDir = dirname(
  createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json"),
);

/** What `npx @modelcontextprotocol/inspector` runs: the launcher of the proxy and the web UI. */
export const INSPECTOR_MAIN = join(inspectorDir, "cli", "build", "cli.js");
/** What `npx @modelcontextprotocol/inspector --cli …` runs. */
export const INSPECTOR_CLI = join(inspectorDir, "cli", "build", "index.js");
