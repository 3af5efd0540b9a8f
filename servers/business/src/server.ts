import { join } from "node:path";
import { defineServer } from "@gatehouse/kit";
import { z } from "zod";
import pkg from "../package.json" with { type: "json" };
import { Downstream } from "./downstream.ts";
import type { BusinessServices } from "./services.ts";
import { accountHealthTool } from "./tools/account-health.ts";
import { accountsAtRiskTool } from "./tools/accounts-at-risk.ts";
import { orderEscalationBriefTool } from "./tools/order-escalation-brief.ts";

const env = z.object({
  BUSINESS_ORDER_LOOKUP_URL: z.url().default("http://127.0.0.1:7101/mcp"),
  BUSINESS_CRM_READ_URL: z.url().default("http://127.0.0.1:7102/mcp"),
  BUSINESS_TICKET_DRAFT_URL: z.url().default("http://127.0.0.1:7103/mcp"),
  BUSINESS_TOKEN_ENDPOINT: z.url().optional(),
  BUSINESS_CLIENT_ID: z.string().min(1).default("business"),
  BUSINESS_CLIENT_SECRET: z
    .string({
      error:
        "BUSINESS_CLIENT_SECRET is not set: the business server's secret at the identity provider (gatehouse start sets the sandbox's)",
    })
    .min(16),
  BUSINESS_DOWNSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).default(3_000),
});

export const business = defineServer<BusinessServices>({
  name: "business",
  version: "0.1.0",
  title: "Business findings",
  instructions:
    "Answers business questions about accounts with structured findings built from CRM, orders and tickets, as you.",
  // Declared once, in package.json "gatehouse", where `gatehouse` finds it without importing this module.
  defaultPort: pkg.gatehouse.defaultPort,
  policyDir: join(import.meta.dirname, "..", "policy"),
  tokenExchange: true,
  tools: [accountHealthTool, accountsAtRiskTool, orderEscalationBriefTool],
  async services({ config, env: source }) {
    const parsed = env.safeParse(source);
    if (!parsed.success)
      throw new Error(
        `invalid business configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n")}`,
      );
    const e = parsed.data;
    const downstream = new Downstream({
      urls: {
        "order-lookup": e.BUSINESS_ORDER_LOOKUP_URL,
        "crm-read": e.BUSINESS_CRM_READ_URL,
        "ticket-draft": e.BUSINESS_TICKET_DRAFT_URL,
      },
      tokenEndpoint: e.BUSINESS_TOKEN_ENDPOINT ?? `${config.issuer.replace(/\/$/, "")}/token`,
      clientId: e.BUSINESS_CLIENT_ID,
      clientSecret: e.BUSINESS_CLIENT_SECRET,
      timeoutMs: e.BUSINESS_DOWNSTREAM_TIMEOUT_MS,
    });
    return { downstream, close: async () => downstream.closeAll() };
  },
});
