import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerDefinition } from "@gatehouse/kit";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Entry points of the server packages, as the CLI starts them. */
export const ORDER_LOOKUP_ENTRY = join(root, "servers", "order-lookup", "src", "main.ts");
export const CRM_READ_ENTRY = join(root, "servers", "crm-read", "src", "main.ts");
export const TICKET_DRAFT_ENTRY = join(root, "servers", "ticket-draft", "src", "main.ts");
export const TICKET_SEND_ENTRY = join(root, "servers", "ticket-send", "src", "main.ts");
export const BUSINESS_ENTRY = join(root, "servers", "business", "src", "main.ts");

/** Known seeded orders: the first 180 belong to emea, the next 180 to na (see sandbox seed-data). */
export const EMEA_ORDER = "SO-100001";
export const NA_ORDER = "SO-100200";

/** Generous limits so suites that are not about rate limiting never trip them. */
export const RELAXED_LIMITS = {
  GATEHOUSE_RATE_LIMIT_USER: "10000/60s",
  GATEHOUSE_RATE_LIMIT_TENANT: "10000/60s",
  GATEHOUSE_RATE_LIMIT_TOOL: "10000/60s",
};

/** The definition a server package's src/server.ts exports (beside its src/main.ts entry). */
export async function definitionOf(entry: string): Promise<ServerDefinition> {
  const exports = (await import(join(dirname(entry), "server.ts"))) as Record<string, unknown>;
  const def = Object.values(exports).find((v) => Array.isArray((v as { tools?: unknown } | null)?.tools));
  if (!def) throw new Error(`${entry}: no server definition exported from server.ts`);
  return def as ServerDefinition;
}
