import type { Server } from "@modelcontextprotocol/server";
import { type StdioServerHandle, serveStdio } from "@modelcontextprotocol/server/stdio";

export function startStdio(factory: () => Server): StdioServerHandle {
  return serveStdio(() => factory());
}
