import { z } from "zod";

// Shapes shared by several tools. Identifiers are pattern-checked, so nothing but an id reaches a query.
export const orderId = z
  .string()
  .regex(/^SO-\d{6,10}$/, "an order id looks like SO-100123")
  .describe("Order number, e.g. SO-100123");
export const customerId = z
  .string()
  .regex(/^CUST-\d{4,8}$/, "a customer id looks like CUST-0042")
  .describe("Customer id, e.g. CUST-0042");
export const limit = z.number().int().min(1).max(50).default(20).describe("Page size (1-50)");
export const cursor = z.string().max(512).optional().describe("next_cursor from the previous page");
export const nextCursor = z
  .string()
  .nullable()
  .describe("Pass to the next call for more; null on the last page");
export const isoTime = z.string().describe("ISO-8601 timestamp");
export const money = z.object({ amount_cents: z.number().int(), currency: z.string() });
