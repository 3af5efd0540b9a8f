import { join } from "node:path";
import { defineServer } from "@gatehouse/kit";
import { DraftsRepository, JiraGateway, jiraRequestFor, SUBJECT_TYPE, toDraftView } from "@gatehouse/tickets";
import { Sends } from "./sends.ts";
import type { TicketSendServices } from "./services.ts";
import { sendTicket } from "./tools/send-ticket.ts";

export const ticketSend = defineServer<TicketSendServices>({
  name: "ticket-send",
  version: "0.1.0",
  title: "Ticket send",
  instructions: "Sends ticket drafts to Jira once a second person has approved them. It can do nothing else.",
  defaultPort: 7104,
  policyDir: join(import.meta.dirname, "..", "policy"),
  tools: [sendTicket],
  approvals: {
    scope: "tickets:approve",
    async load(id, services) {
      const d = await services.drafts.get(id);
      if (!d) return undefined;
      return {
        subject: {
          subjectType: SUBJECT_TYPE,
          id: d.id,
          tenant: d.tenant,
          owner: d.createdBy,
          contentHash: d.contentHash,
        },
        preview: { draft: toDraftView(d), jira_request: jiraRequestFor(d) },
      };
    },
  },
  async services({ env, store }) {
    const drafts = new DraftsRepository(store);
    const jira = new JiraGateway(env);
    const leaseMs = Number(env.TICKETS_SEND_LEASE_MS ?? 60_000);
    if (!Number.isInteger(leaseMs) || leaseMs < 1000)
      throw new Error("TICKETS_SEND_LEASE_MS must be at least 1000");
    return { drafts, jira, sends: new Sends(store, drafts, jira, leaseMs), close: async () => undefined };
  },
});
