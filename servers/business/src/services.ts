import { toolsFor } from "@gatehouse/kit";
import type { Downstream } from "./downstream.ts";

/** What business's tools get from the kit as `ctx.services`. */
export interface BusinessServices {
  downstream: Downstream;
  close(): Promise<void>;
}

/** business's `defineTool`: handlers get `ctx.services` typed as BusinessServices. */
export const defineBusinessTool = toolsFor<BusinessServices>();
