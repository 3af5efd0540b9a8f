import { toolsFor } from "@gatehouse/kit";
import type { Orders } from "./orders.ts";

/** What order-lookup's tools get from the kit as `ctx.services`. */
export interface OrderLookupServices {
  orders: Orders;
  close(): Promise<void>;
}

/** order-lookup's `defineTool`: handlers get `ctx.services` typed as OrderLookupServices. */
export const defineOrderTool = toolsFor<OrderLookupServices>();
