import { describe, expect, it } from "vitest";
import { z } from "zod";
import { tenantArgument, toolsFor } from "../src/define-tool.ts";

interface ShopServices {
  orders: { count(tenant: string): Promise<number> };
}
const defineShopTool = toolsFor<ShopServices>();

const countOrders = defineShopTool({
  name: "count_orders",
  title: "Count orders",
  description: "How many orders a tenant has.",
  kind: "read",
  scope: "orders:read",
  input: z.object({ tenant: tenantArgument }),
  output: z.object({ count: z.number() }),
  // `ctx.services` is ShopServices and `args.tenant` a string, with no annotation: typecheck proves both.
  handler: async (args, ctx) => ({ count: await ctx.services.orders.count(args.tenant) }),
});

defineShopTool({
  name: "wrong_service",
  title: "Wrong service",
  description: "Names a service the server does not have.",
  kind: "read",
  scope: "orders:read",
  input: z.object({}),
  output: z.object({ count: z.number() }),
  // @ts-expect-error: ShopServices has no `invoices`; the compiler must refuse it (this line fails typecheck if not).
  handler: async (_args, ctx) => ({ count: await ctx.services.invoices.count() }),
});

describe("toolsFor", () => {
  it("returns the definition the kit registers, unchanged", () => {
    expect(countOrders.name).toBe("count_orders");
    expect(countOrders.kind).toBe("read");
  });

  it("still validates the definition like defineTool", () => {
    expect(() =>
      defineShopTool({
        name: "bad name!",
        title: "x",
        description: "x",
        kind: "read",
        scope: "orders:read",
        input: z.object({}),
        output: z.object({}),
        handler: async () => ({}),
      }),
    ).toThrow(/tool name/);
  });
});
