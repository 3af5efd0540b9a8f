import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
  TOKEN_EXCHANGE_GRANT,
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

  it("advertises an OAuth 2.1 authorization server: code + S256 PKCE, registration, resource indicators, exchange", async () => {
    const issuer = await startIssuer({ dataDir: dir, port: 0 });
    try {
      const meta = (await (
        await fetch(`${issuer.url}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>;
      expect(meta).toMatchObject({
        issuer: issuer.url,
        authorization_endpoint: `${issuer.url}/authorize`,
        token_endpoint: `${issuer.url}/token`,
        registration_endpoint: `${issuer.url}/register`,
        response_types_supported: ["code"],
        code_challenge_methods_supported: ["S256"],
        authorization_response_iss_parameter_supported: true,
      });
      expect(meta.grant_types_supported).toEqual(
        expect.arrayContaining(["authorization_code", "refresh_token", TOKEN_EXCHANGE_GRANT]),
      );
      expect(meta.grant_types_supported).not.toContain("implicit");
      expect(meta).not.toHaveProperty("pushed_authorization_request_endpoint");
    } finally {
      await issuer.close();
    }
  });

  it("keeps dynamically registered clients across restarts, but never the configured exchange clients", async () => {
    const first = await startIssuer({
      dataDir: dir,
      port: 0,
      exchangeClients: { business: { secret: "s".repeat(32), resource: "http://x/mcp", targets: [] } },
    });
    const res = await fetch(`${first.url}/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        redirect_uris: ["http://127.0.0.1:6274/oauth/callback"],
        token_endpoint_auth_method: "none",
      }),
    });
    expect(res.status).toBe(201);
    const { client_id } = (await res.json()) as { client_id: string };
    await first.close();
    const saved = readFileSync(join(dir, "issuer", "registered-clients.json"), "utf8");
    expect(Object.keys(JSON.parse(saved))).toEqual([client_id]);
    expect(saved).not.toContain("s".repeat(32));

    const second = await startIssuer({ dataDir: dir, port: 0 });
    try {
      const authorize = new URL(`${second.url}/authorize`);
      authorize.searchParams.set("client_id", client_id);
      authorize.searchParams.set("response_type", "code");
      const again = await fetch(authorize, { redirect: "manual" });
      // A known client gets a redirect (here: PKCE missing), an unknown one an error page.
      expect(again.status).toBe(303);
      authorize.searchParams.set("client_id", "never-registered");
      expect((await fetch(authorize, { redirect: "manual" })).status).toBe(400);
    } finally {
      await second.close();
    }
  });

  it("shares registered clients between two issuers on one data directory (a second sandbox)", async () => {
    const [a, b] = await Promise.all([
      startIssuer({ dataDir: dir, port: 0 }),
      startIssuer({ dataDir: dir, port: 0 }),
    ]);
    try {
      const register = async (url: string) =>
        (
          (await (
            await fetch(`${url}/register`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                redirect_uris: ["http://127.0.0.1:6274/oauth/callback"],
                token_endpoint_auth_method: "none",
              }),
            })
          ).json()) as { client_id: string }
        ).client_id;
      const fromA = await register(a.url);
      const fromB = await register(b.url);
      const saved = JSON.parse(readFileSync(join(dir, "issuer", "registered-clients.json"), "utf8"));
      expect(Object.keys(saved).sort()).toEqual([fromA, fromB].sort());
      // b knows a's client without a restart.
      const authorize = new URL(`${b.url}/authorize`);
      authorize.searchParams.set("client_id", fromA);
      authorize.searchParams.set("response_type", "code");
      expect((await fetch(authorize, { redirect: "manual" })).status).toBe(303);
    } finally {
      await a.close();
      await b.close();
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
