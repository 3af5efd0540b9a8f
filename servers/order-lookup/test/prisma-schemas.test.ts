import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/**
 * Prisma ties a schema to one provider, so the orders model is written twice: prisma/schema.prisma (SQLite,
 * the source of the Kysely types) and prisma/postgres/schema.prisma. The queries are typed from one and run on
 * both, so the model blocks must not drift.
 */
const read = (path: string) => readFileSync(new URL(`../prisma/${path}`, import.meta.url), "utf8");

/** Each `model X { … }` block, comments and blank lines dropped, keyed by name. */
function models(schema: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of schema.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)) {
    const body = m[2]!
      .split("\n")
      .map((l) => l.replace(/\/\/.*$/, "").trim())
      .filter(Boolean)
      .join("\n");
    out.set(m[1]!, body);
  }
  return out;
}

describe("the orders model on SQLite and on PostgreSQL", () => {
  const sqlite = models(read("schema.prisma"));
  const postgres = models(read("postgres/schema.prisma"));

  it("has the same models", () => {
    expect(sqlite.size).toBeGreaterThanOrEqual(6);
    expect([...postgres.keys()].sort()).toEqual([...sqlite.keys()].sort());
  });

  it("has the same fields, types, attributes and maps in every model", () => {
    for (const [name, body] of sqlite) expect(postgres.get(name), `model ${name}`).toBe(body);
  });

  it("notices a drift (a changed field type)", () => {
    const drifted = models(read("postgres/schema.prisma").replace("totalCents Int", "totalCents BigInt"));
    expect(drifted.get("Order")).not.toBe(sqlite.get("Order"));
  });
});
