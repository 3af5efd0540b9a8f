import { describe, expect, it } from "vitest";
import { z } from "zod";
import { identifier } from "../src/identifier.ts";

const digits = z.string().regex(/^\d{1,20}$/, "a company id is HubSpot's numeric id, e.g. 1001");
const args = z.object({ company_id: identifier(digits, "a company id") }).strict();
const parse = (company_id: unknown) => args.safeParse({ company_id });
const refusal = (company_id: unknown) => {
  const r = parse(company_id);
  expect(r.success, `${String(company_id)} was accepted`).toBe(false);
  return r.error!.issues.map((i) => i.message).join("; ");
};

describe("identifier arguments", () => {
  it("takes the id as a string, unchanged", () => {
    expect(parse("1001").data).toEqual({ company_id: "1001" });
    expect(parse("00042").data).toEqual({ company_id: "00042" });
  });

  it("takes a whole number, as Inspector's CLI and LLM clients send one, as its canonical string", () => {
    expect(parse(1001).data).toEqual({ company_id: "1001" });
    expect(parse(0).data).toEqual({ company_id: "0" });
    expect(parse(-0).data).toEqual({ company_id: "0" });
    expect(parse(Number.MAX_SAFE_INTEGER).data).toEqual({ company_id: "9007199254740991" });
  });

  it.each([
    ["negative", -1],
    ["fractional", 1001.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["one past the safe integers", 2 ** 53],
    ["huge", 1e21],
  ])("refuses a %s number, saying what a numeric id must be", (_, value) => {
    expect(refusal(value)).toBe(
      "a company id sent as a number must be a whole number from 0 to 9007199254740991; send other ids as a string",
    );
  });

  it.each([
    ["a boolean", true],
    ["null", null],
    ["an object", { id: 1001 }],
    ["an array", [1001]],
    ["a bigint", 1001n],
  ])("refuses %s", (_, value) => {
    expect(refusal(value)).toBe("a company id must be a string (or a whole number of 0 or more)");
  });

  it("still applies the string rules to strings and to the number's canonical form", () => {
    for (const text of ["", " 1001", "1001 ", "10e3", "0x3e9", "abc", "123456789012345678901"]) {
      expect(refusal(text)).toBe("a company id is HubSpot's numeric id, e.g. 1001");
    }
    const short = z.object({ id: identifier(z.string().regex(/^\d{1,3}$/, "three digits at most")) });
    expect(short.safeParse({ id: 1234 }).success).toBe(false);
    expect(short.safeParse({ id: 123 }).data).toEqual({ id: "123" });
  });

  it("publishes an honest input schema: the string schema or a non-negative safe integer", () => {
    expect(z.toJSONSchema(args, { io: "input" }).properties).toEqual({
      company_id: {
        anyOf: [
          { type: "string", pattern: "^\\d{1,20}$" },
          { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        ],
      },
    });
  });
});
