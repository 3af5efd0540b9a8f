import { describe, expect, it } from "vitest";
import { z } from "zod";
import { applyEgress, redactForAudit, redactString, redactValue } from "../src/index.ts";

const noPii = { allowPii: false };
const counter = () => ({ count: 0 });

describe("redaction regressions", () => {
  it("stays linear on a long string without an @ (no ReDoS)", () => {
    const started = performance.now();
    redactString("x".repeat(200_000), noPii, counter());
    // Generous bound: the quadratic version took minutes; linear takes tens of milliseconds.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it.each([
    ["valid 2024-05-01 2024-05-05"],
    ["paid 2024-05-01 4575689 cents"],
    ["window 2026-01-01 2026-01-31 2026-02-28"],
  ])("never takes dates and amounts for a card number: %j", (text) => {
    expect(redactString(text, noPii, counter())).toBe(text);
  });

  it("never takes the digits that start a hex hash for a card number", () => {
    // A real content hash from a race run: its first 14 digits happen to pass the Luhn check.
    const hash = "04519511532165f98bfab719de72201c048845441837b77c1dba03b01bdedb14";
    expect(redactString(`content ${hash}`, { allowPii: false }, { count: 0 })).toBe(`content ${hash}`);
    expect(redactString("card:4111111111111111.", { allowPii: false }, { count: 0 })).toBe(
      "card:[redacted:card].",
    );
  });

  it("redacts a card number held as a JSON number", () => {
    const result = applyEgress(
      z.object({ card: z.number() }),
      { card: 4111111111111111 },
      { allowPii: true, maxBytes: 1000 },
    );
    expect(result.ok && result.value.card).toBe("[redacted:card]");
  });

  it("redacts a phone number held as a number under a phone key", () => {
    expect(redactValue({ phone: 4930123456 }, noPii, counter())).toEqual({ phone: "[redacted:pii]" });
  });

  it("redacts camelCase contact and credential keys", () => {
    const out = redactValue(
      { customerEmail: "a", contactPhone: "030 1234567", accessToken: "abc", clientSecret: "s" },
      noPii,
      counter(),
    );
    expect(out).toEqual({
      customerEmail: "[redacted:pii]",
      contactPhone: "[redacted:pii]",
      accessToken: "[redacted:secret]",
      clientSecret: "[redacted:secret]",
    });
  });

  it("leaves pagination tokens and cursors alone", () => {
    expect(redactValue({ nextPageToken: "abc123", next_cursor: "xyz" }, noPii, counter())).toEqual({
      nextPageToken: "abc123",
      next_cursor: "xyz",
    });
  });

  it("redacts before truncating, so a long audit argument never leaks half an email or card", () => {
    const long = `${"a".repeat(110)} jane.doe@example.com 4111 1111 1111 1111 ${"b".repeat(600)}`;
    const stored = JSON.stringify(redactForAudit({ query: long }));
    expect(stored).not.toContain("jane.doe@example");
    expect(stored).not.toContain("4111 1111");
    expect(stored).toContain("chars]");
  });
});
