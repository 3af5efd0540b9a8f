import { join } from "node:path";
import { defineServer } from "@gatehouse/kit";
import pkg from "../package.json" with { type: "json" };
import { loadHubSpotConfig } from "./config.ts";
import { Crm } from "./crm.ts";
import { HubSpotGateway } from "./hubspot.ts";
import type { CrmServices } from "./services.ts";
import { dealPipelineSummary } from "./tools/deal-pipeline-summary.ts";
import { getCompany } from "./tools/get-company.ts";
import { searchCompanies } from "./tools/search-companies.ts";
import { searchContacts } from "./tools/search-contacts.ts";

export const crmRead = defineServer<CrmServices>({
  name: "crm-read",
  version: "0.1.0",
  title: "CRM read",
  instructions:
    "Read-only access to the company's HubSpot CRM: companies, contacts and deals of your tenant.",
  // Declared once, in package.json "gatehouse", where `gatehouse` finds it without importing this module.
  defaultPort: pkg.gatehouse.defaultPort,
  policyDir: join(import.meta.dirname, "..", "policy"),
  tools: [searchCompanies, getCompany, searchContacts, dealPipelineSummary],
  async services({ env }) {
    // This server's own HubSpot credential: no other server ever sees it.
    const crm = new Crm(new HubSpotGateway(loadHubSpotConfig(env)));
    return { crm, close: async () => undefined };
  },
});
