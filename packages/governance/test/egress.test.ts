import { describe, expect, it } from "vitest";
import { z } from "zod";
import { applyEgress } from "../src/index.ts";

const Order = z.object({
  id: z.string(),
  total: z.number(),
  customer: z.object({ name: z.string(), email: z.string() }),
  lines: z.array(z.object({ sku: z.string(), qty: z.number() })),
});

const raw = {
  id: "SO-100123",
  total: 4575687,
  internal_cost: 1200,
  customer: { name: "Jane Doe", email: "jane@example.com", password_hash: "$2b$10$abc" },
  lines: [
    { sku: "A-1", qty: 2, warehouse_bin: "B7" },
    { sku: "B-2", qty: 1, warehouse_bin: "C3" },
  ],
};

describe("egress filter", () => {
  it("drops every field the output schema does not declare, at every level, and counts them", () => {
    const result = applyEgress(Order, raw, { allowPii: true, maxBytes: 10_000 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toEqual({
      id: "SO-100123",
      total: 4575687,
      customer: { name: "Jane Doe", email: "jane@example.com" },
      lines: [
        { sku: "A-1", qty: 2 },
        { sku: "B-2", qty: 1 },
      ],
    });
    expect(result.droppedFields).toBe(4);
    expect(result.redactions).toBe(0);
    expect(result.bytes).toBe(Buffer.byteLength(JSON.stringify(result.value)));
  });

  it("redacts PII in the declared fields for a caller without PII permission", () => {
    const result = applyEgress(Order, raw, { allowPii: false, maxBytes: 10_000 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.customer).toEqual({ name: "Jane Doe", email: "[redacted:pii]" });
    expect(result.redactions).toBe(1);
    expect(JSON.stringify(result.value)).not.toContain("jane@example.com");
  });

  it("redacts secrets smuggled into a declared string field", () => {
    const Note = z.object({ note: z.string() });
    const result = applyEgress(
      Note,
      { note: "use sk_live_abcdefgh12345678 to retry" },
      { allowPii: true, maxBytes: 1000 },
    );
    expect(result).toMatchObject({
      ok: true,
      value: { note: "use [redacted:secret] to retry" },
      redactions: 1,
    });
  });

  it("fails with reason schema when a field has the wrong type", () => {
    const result = applyEgress(Order, { ...raw, total: "4575687" }, { allowPii: true, maxBytes: 10_000 });
    expect(result).toEqual({
      ok: false,
      reason: "schema",
      message: "the tool produced a result that does not match its output schema",
    });
  });

  it("fails with reason schema when a required field is missing, without echoing the data", () => {
    const { id: _id, ...withoutId } = raw;
    const result = applyEgress(Order, withoutId, { allowPii: true, maxBytes: 10_000 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe("schema");
    expect(result.message).not.toContain("jane@example.com");
  });

  it("fails with reason size when the filtered result is over maxBytes, and names both sizes", () => {
    const List = z.object({ items: z.array(z.string()) });
    const big = { items: Array.from({ length: 100 }, (_, i) => `item-${i}`) };
    const bytes = Buffer.byteLength(JSON.stringify(big));
    const over = applyEgress(List, big, { allowPii: true, maxBytes: bytes - 1 });
    expect(over).toMatchObject({ ok: false, reason: "size" });
    if (over.ok) return;
    expect(over.message).toContain(`${bytes} bytes`);
    expect(over.message).toContain(`${bytes - 1}-byte limit`);
    expect(applyEgress(List, big, { allowPii: true, maxBytes: bytes })).toMatchObject({ ok: true, bytes });
  });

  it("measures size after dropping undeclared fields", () => {
    const Small = z.object({ id: z.string() });
    const result = applyEgress(
      Small,
      { id: "SO-1", blob: "x".repeat(5000) },
      { allowPii: true, maxBytes: 100 },
    );
    expect(result).toMatchObject({ ok: true, value: { id: "SO-1" }, droppedFields: 1 });
  });
});
