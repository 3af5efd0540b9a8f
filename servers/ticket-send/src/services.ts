import { toolsFor } from "@gatehouse/kit";
import type { DraftsRepository, JiraGateway } from "@gatehouse/tickets";
import type { Sends } from "./sends.ts";

export interface TicketSendServices {
  drafts: DraftsRepository;
  jira: JiraGateway;
  sends: Sends;
  close(): Promise<void>;
}

/** ticket-send's `defineTool`: handlers get `ctx.services` typed as TicketSendServices. */
export const defineSendTool = toolsFor<TicketSendServices>();
