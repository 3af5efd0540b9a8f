export { type ConsoleConfig, consoleConfigFromEnv, DEFAULT_CONSOLE_PORT } from "./config.ts";
