import { toolsFor } from "@gatehouse/kit";
import type { Crm } from "./crm.ts";

/** What crm-read's tools get from the kit as `ctx.services`. */
export interface CrmServices {
  crm: Crm;
  close(): Promise<void>;
}

/** crm-read's `defineTool`: handlers get `ctx.services` typed as CrmServices. */
export const defineCrmTool = toolsFor<CrmServices>();
