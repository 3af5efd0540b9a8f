import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crmRead } from "@gatehouse/crm-read";
import type { ServerDefinition } from "@gatehouse/kit";
import { orderLookup } from "@gatehouse/order-lookup";
import { ticketDraft } from "@gatehouse/ticket-draft";
import { ticketSend } from "@gatehouse/ticket-send";
import type { SandboxSystems } from "./sandbox-systems.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface ServerEntry {
  name: string;
  def: ServerDefinition;
  /** The process entry point `gatehouse start` launches. */
  entry: string;
  defaultPort: number;
  /** The server's own settings for its systems: the sandbox stand-ins unless real ones are configured. */
  env(systems: SandboxSystems): Record<string, string>;
}

const def = (d: unknown) => d as ServerDefinition;

/** Every server `gatehouse start` and `gatehouse stdio` know. New server packages add an entry here. */
export const SERVERS: ServerEntry[] = [
  {
    name: orderLookup.name,
    def: def(orderLookup),
    entry: join(root, "servers", "order-lookup", "src", "main.ts"),
    defaultPort: orderLookup.defaultPort,
    env: (s) => ({ ORDERS_DATABASE_URL: process.env.ORDERS_DATABASE_URL ?? `file:${s.ordersDb}` }),
  },
  {
    name: crmRead.name,
    def: def(crmRead),
    entry: join(root, "servers", "crm-read", "src", "main.ts"),
    defaultPort: crmRead.defaultPort,
    // A real private-app token in the environment means real HubSpot; otherwise the stand-in.
    env: (s): Record<string, string> =>
      s.hubspot ? { HUBSPOT_BASE_URL: s.hubspot.url, HUBSPOT_ACCESS_TOKEN: s.hubspot.token } : {},
  },
  {
    name: ticketDraft.name,
    def: def(ticketDraft),
    entry: join(root, "servers", "ticket-draft", "src", "main.ts"),
    defaultPort: ticketDraft.defaultPort,
    env: (s) => jiraEnv(s),
  },
  {
    name: ticketSend.name,
    def: def(ticketSend),
    entry: join(root, "servers", "ticket-send", "src", "main.ts"),
    defaultPort: ticketSend.defaultPort,
    env: (s) => jiraEnv(s),
  },
];

/** Real Jira settings in the environment win; otherwise the stand-in's. */
function jiraEnv(s: SandboxSystems): Record<string, string> {
  return s.jira
    ? { JIRA_BASE_URL: s.jira.url, JIRA_EMAIL: s.jira.email, JIRA_API_TOKEN: s.jira.apiToken }
    : {};
}

/** Which sandbox systems a server needs. */
export function needs(name: string): { needHubSpot: boolean; needJira: boolean } {
  return {
    needHubSpot: name === crmRead.name,
    needJira: name === ticketDraft.name || name === ticketSend.name,
  };
}

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
