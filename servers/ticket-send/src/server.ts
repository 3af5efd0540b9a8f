import { join } from "node:path";
import { defineServer } from "@gatehouse/kit";
import { DraftsRepository, JiraGateway, jiraRequestFor, toDraftView } from "@gatehouse/tickets";
import pkg from "../package.json" with { type: "json" };
import { Sends, subjectOf } from "./sends.ts";
import type { TicketSendServices } from "./services.ts";
import { sendTicket } from "./tools/send-ticket.ts";

export const ticketSend = defineServer<TicketSendServices>({
  name: "ticket-send",
  version: "0.1.0",
  title: "Ticket send",
  instructions: "Sends ticket drafts to Jira once a second person has approved them. It can do nothing else.",
  // Declared once, in package.json "gatehouse", where `gatehouse` finds it without importing this module.
  defaultPort: pkg.gatehouse.defaultPort,
  policyDir: join(import.meta.dirname, "..", "policy"),
  tools: [sendTicket],
  approvals: {
    scope: "tickets:approve",
    async load(id, services) {
      const d = await services.drafts.get(id);
      if (!d) return undefined;
      const subject = subjectOf(d);
      if (!subject.closed && (await services.sends.inFlight(id)))
        subject.closed =
          "is being sent right now, and a decision cannot stop a send under way; decide once it has ended";
      return { subject, preview: { draft: toDraftView(d), jira_request: jiraRequestFor(d) } };
    },
  },
  async services({ env, store, log }) {
    const drafts = new DraftsRepository(store);
    const jira = new JiraGateway(env, {
      onSchemaDrift: (report) =>
        log.warn({ jira: report }, "Jira answered with a shape jira.js does not describe"),
    });
    const raw = env.TICKETS_SEND_LANDING_GRACE_MS;
    const landingGraceMs = raw === undefined || raw.trim() === "" ? 30_000 : Number(raw);
    // Below 100 ms the window is no window: a request Jira is still applying would be searched for too soon.
    if (!Number.isInteger(landingGraceMs) || landingGraceMs < 100)
      throw new Error(
        `TICKETS_SEND_LANDING_GRACE_MS must be a whole number of milliseconds, at least 100 (got "${raw}")`,
      );
    return {
      drafts,
      jira,
      sends: new Sends(store, jira, { landingGraceMs }),
      close: async () => undefined,
    };
  },
});
