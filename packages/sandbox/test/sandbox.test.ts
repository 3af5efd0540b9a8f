import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  buildOrdersSeed,
  loadOrCreateIssuerKeys,
  mintToken,
  SEED_COMPANIES,
  startIssuer,
} from "../src/index.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-sandbox-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("sandbox identity provider", () => {
  it("serves its JWKS and metadata on loopback, and its tokens verify against them", async () => {
    const issuer = await startIssuer({ dataDir: dir, port: 0 });
    try {
      const meta = (await (await fetch(`${issuer.url}/.well-known/oauth-authorization-server`)).json()) as {
        jwks_uri: string;
      };
      expect(meta).toMatchObject({ issuer: issuer.url, jwks_uri: `${issuer.url}/jwks.json` });
      const jwks = (await (await fetch(meta.jwks_uri)).json()) as Parameters<typeof createLocalJWKSet>[0];
      expect(JSON.stringify(jwks)).not.toMatch(/"d":/); // never the private part
      const token = await mintToken(issuer.keys, {
        issuer: issuer.url,
        user: "alice",
        audience: "http://127.0.0.1:7101/mcp",
      });
      const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: issuer.url,
        audience: "http://127.0.0.1:7101/mcp",
      });
      expect(payload).toMatchObject({ sub: "alice", tenant: "emea", roles: ["support_agent"] });
      expect(String(payload.scope).split(" ")).toContain("orders:read");
      expect(String(payload.scope).split(" ")).not.toContain("orders:pii");
    } finally {
      await issuer.close();
    }
  });

  it("makes exactly one signing key when several processes start at once", async () => {
    const keys = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateIssuerKeys(dir)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
  });

  it("refuses to mint for an unknown user, naming the seeded ones", async () => {
    const keys = await loadOrCreateIssuerKeys(dir);
    await expect(mintToken(keys, { issuer: "http://x", user: "mallory", audience: "a" })).rejects.toThrow(
      /seeded users are alice, bob, carol, dave, erin/,
    );
  });
});

describe("orders seed data", () => {
  const seed = buildOrdersSeed({ now: new Date("2026-11-21T12:00:00Z") });

  it("is realistic: hundreds of orders over two tenants with late, refunded and unpaid ones", () => {
    expect(seed.orders.length).toBeGreaterThanOrEqual(300);
    expect(new Set(seed.orders.map((o) => o.tenant))).toEqual(new Set(Object.keys(SEED_COMPANIES)));
    const now = Date.parse("2026-11-21T12:00:00Z");
    expect(
      seed.orders.filter(
        (o) => (o.status === "open" || o.status === "shipped") && o.promisedAt.getTime() < now,
      ).length,
    ).toBeGreaterThan(20);
    expect(seed.payments.filter((p) => p.kind === "refund").length).toBeGreaterThan(5);
    expect(
      seed.invoices.filter((i) => i.status === "open" && i.dueAt.getTime() < now).length,
    ).toBeGreaterThan(5);
  });

  it("is deterministic, and keeps every child row in its order's tenant", () => {
    const again = buildOrdersSeed({ now: new Date("2026-11-21T12:00:00Z") });
    expect(again).toEqual(seed);
    const tenantOf = new Map(seed.orders.map((o) => [o.id, o.tenant]));
    const customerTenant = new Map(seed.customers.map((c) => [c.id, c.tenant]));
    expect(seed.orders.every((o) => customerTenant.get(o.customerId) === o.tenant)).toBe(true);
    expect(seed.invoices.every((i) => tenantOf.get(i.orderId) === i.tenant)).toBe(true);
  });
});
