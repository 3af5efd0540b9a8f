export type { ConsoleTool } from "./app.ts";
export { type ConsoleConfig, consoleConfigFromEnv, DEFAULT_CONSOLE_PORT } from "./config.ts";
export { type RunningConsole, startConsole } from "./console-server.ts";
