import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerDefinition } from "@gatehouse/kit";
import { orderLookup } from "@gatehouse/order-lookup";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface ServerEntry {
  name: string;
  def: ServerDefinition;
  /** The process entry point `gatehouse start` launches. */
  entry: string;
  defaultPort: number;
}

/** Every server `gatehouse start` and `gatehouse stdio` know. New server packages add a line here. */
export const SERVERS: ServerEntry[] = [
  {
    name: orderLookup.name,
    def: orderLookup as unknown as ServerDefinition,
    entry: join(root, "servers", "order-lookup", "src", "main.ts"),
    defaultPort: orderLookup.defaultPort,
  },
];

export function findServer(name: string): ServerEntry {
  const s = SERVERS.find((x) => x.name === name);
  if (!s)
    throw new UsageError(`unknown server "${name}"; known servers: ${SERVERS.map((x) => x.name).join(", ")}`);
  return s;
}

export class UsageError extends Error {}

/** The resource URL a server has when started by `gatehouse start` (and the audience of its tokens). */
export function defaultResourceUrl(s: ServerEntry): string {
  return `http://127.0.0.1:${s.defaultPort}/mcp`;
}
