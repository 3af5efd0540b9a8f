import type { DraftsRepository, JiraGateway } from "@gatehouse/tickets";
import type { Sends } from "./sends.ts";

export interface TicketSendServices {
  drafts: DraftsRepository;
  jira: JiraGateway;
  sends: Sends;
  close(): Promise<void>;
}
