import { join } from "node:path";
import { defineServer } from "@gatehouse/kit";
import { DraftsRepository, JiraGateway } from "@gatehouse/tickets";
import pkg from "../package.json" with { type: "json" };
import type { TicketDraftServices } from "./services.ts";
import { createTicketDraft } from "./tools/create-ticket-draft.ts";
import { getTicketDraft } from "./tools/get-ticket-draft.ts";
import { listTicketDrafts } from "./tools/list-ticket-drafts.ts";
import { searchTickets } from "./tools/search-tickets.ts";
import { updateTicketDraft } from "./tools/update-ticket-draft.ts";

export const ticketDraft = defineServer<TicketDraftServices>({
  name: "ticket-draft",
  version: "0.1.0",
  title: "Ticket drafts",
  instructions:
    "Draft Jira tickets for your tenant. Drafts stay in Gatehouse; sending needs an approver and the ticket-send server.",
  // Declared once, in package.json "gatehouse", where `gatehouse` finds it without importing this module.
  defaultPort: pkg.gatehouse.defaultPort,
  policyDir: join(import.meta.dirname, "..", "policy"),
  tools: [createTicketDraft, updateTicketDraft, getTicketDraft, listTicketDrafts, searchTickets],
  async services({ env, store, log }) {
    const jira = new JiraGateway(env, {
      onSchemaDrift: (report) =>
        log.warn({ jira: report }, "Jira answered with a shape jira.js does not describe"),
    });
    return { drafts: new DraftsRepository(store), jira, close: async () => undefined };
  },
});
