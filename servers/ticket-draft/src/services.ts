import { ToolError, toolsFor } from "@gatehouse/kit";
import type { DraftsRepository, JiraGateway } from "@gatehouse/tickets";

export interface TicketDraftServices {
  drafts: DraftsRepository;
  jira: JiraGateway;
  close(): Promise<void>;
}

/** A draft's project must be one of the tenant's Jira projects (TICKETS_PROJECTS). */
export function requireProjectOfTenant(jira: JiraGateway, project: string, tenant: string): void {
  const owner = jira.tenantOfProject(project);
  if (owner !== tenant) {
    const allowed = jira.settings.projectsByTenant.get(tenant) ?? [];
    throw new ToolError(
      `project ${project} is not a Jira project of tenant ${tenant}; use ${allowed.join(" or ") || "none configured"}`,
    );
  }
}

/** ticket-draft's `defineTool`: handlers get `ctx.services` typed as TicketDraftServices. */
export const defineDraftTool = toolsFor<TicketDraftServices>();
