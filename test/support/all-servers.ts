import { randomBytes } from "node:crypto";
import { serverScopes } from "@gatehouse/kit";
import { type RunningJira, startHubSpotSandbox, startJiraSandbox } from "@gatehouse/sandbox";
import { type SpawnedServer, spawnHttpServer, standInEnv, type TestEnvironment } from "@gatehouse/testing";
import {
  BUSINESS_ENTRY,
  CRM_READ_ENTRY,
  definitionOf,
  ORDER_LOOKUP_ENTRY,
  RELAXED_LIMITS,
  TICKET_DRAFT_ENTRY,
  TICKET_SEND_ENTRY,
} from "./servers.ts";

export type ServerName = "order-lookup" | "crm-read" | "ticket-draft" | "ticket-send" | "business";

export const ENTRIES: Record<ServerName, string> = {
  "order-lookup": ORDER_LOOKUP_ENTRY,
  "crm-read": CRM_READ_ENTRY,
  "ticket-draft": TICKET_DRAFT_ENTRY,
  "ticket-send": TICKET_SEND_ENTRY,
  business: BUSINESS_ENTRY,
};

/**
 * Every server over HTTP in one test world, as `gatehouse start` runs them: the HubSpot and Jira
 * stand-ins, business allowed to exchange tokens for its three downstream servers, and each server's
 * resource URL registered with the issuer so people can sign in to clients for it.
 */
export async function startAllServers(
  env: TestEnvironment,
  /** How long each server may take to start (spawnHttpServer's default unless set). */
  opts: { startTimeoutMs?: number } = {},
): Promise<{
  servers: Record<ServerName, SpawnedServer>;
  /** business's client secret at the issuer, for tests that exchange tokens as business would. */
  businessSecret: string;
  /** The Jira stand-in ticket-send files into (its issues, for assertions). */
  jira: RunningJira;
  stop(): Promise<void>;
}> {
  const hubspot = await startHubSpotSandbox({ port: 0 });
  const jira = await startJiraSandbox({ port: 0 });
  const common = { ...env.env, ...RELAXED_LIMITS, ...standInEnv({ hubspot, jira }) };
  const [orderLookup, crm, ticketDraft, ticketSend] = await Promise.all(
    [ORDER_LOOKUP_ENTRY, CRM_READ_ENTRY, TICKET_DRAFT_ENTRY, TICKET_SEND_ENTRY].map((e) =>
      spawnHttpServer(e, common, opts.startTimeoutMs),
    ),
  );
  const secret = randomBytes(24).toString("hex");
  const business = await spawnHttpServer(
    BUSINESS_ENTRY,
    {
      ...common,
      BUSINESS_ORDER_LOOKUP_URL: orderLookup!.url,
      BUSINESS_CRM_READ_URL: crm!.url,
      BUSINESS_TICKET_DRAFT_URL: ticketDraft!.url,
      BUSINESS_CLIENT_SECRET: secret,
    },
    opts.startTimeoutMs,
  );
  env.issuer.registerExchangeClient("business", {
    secret,
    resource: business.url,
    targets: [orderLookup!.url, crm!.url, ticketDraft!.url],
  });
  const servers: Record<ServerName, SpawnedServer> = {
    "order-lookup": orderLookup!,
    "crm-read": crm!,
    "ticket-draft": ticketDraft!,
    "ticket-send": ticketSend!,
    business,
  };
  // Each resource with its own scopes, as `gatehouse start` registers them.
  for (const [name, s] of Object.entries(servers)) {
    env.issuer.registerResource(s.url, {
      scopes: serverScopes(await definitionOf(ENTRIES[name as ServerName])),
    });
  }
  return {
    servers,
    businessSecret: secret,
    jira,
    async stop() {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
      await hubspot.close();
      await jira.close();
    },
  };
}
