import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AssertionReplayGuard } from "../src/authorization-server/assertion-replay.ts";
import {
  AssertionRefused,
  checkedIdentityProvider,
  ID_JAG_TYP,
  IdentityAssertionRedeemer,
} from "../src/authorization-server/identity-assertion.ts";
import { loadIdentities, roleScopes } from "../src/identities.ts";
import { loadOrCreateIssuerKeys } from "../src/issuer-keys.ts";

const AS = "http://127.0.0.1:7100";
const RESOURCE = "http://127.0.0.1:7101/mcp";

/**
 * The ID-JAG rules in process, for the cases the end-to-end suite cannot make a real IdP produce: an
 * expired or long-lived assertion, a person Gatehouse does not know, the wrong typ, a missing claim, an
 * unknown resource, and an untrustworthy IdP configuration.
 */
describe("identity assertions (ID-JAG) at the authorization server", () => {
  let jwksServer: Server;
  let idp: string;
  let sign: (claims: JWTPayload, typ?: string) => Promise<string>;
  let redeemer: IdentityAssertionRedeemer;
  let dataDir: string;
  let keys: Awaited<ReturnType<typeof loadOrCreateIssuerKeys>>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
    jwksServer = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "application/json" }).end(jwks),
    );
    await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
    idp = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
    sign = (claims, typ = ID_JAG_TYP) =>
      new SignJWT(claims).setProtectedHeader({ alg: "ES256", kid: "k1", typ }).sign(privateKey);
    dataDir = mkdtempSync(join(tmpdir(), "gatehouse-idjag-"));
    keys = await loadOrCreateIssuerKeys(dataDir);
    const identities = loadIdentities();
    redeemer = new IdentityAssertionRedeemer({
      issuer: AS,
      identities,
      trusted: () => [{ issuer: idp, jwksUri: `${idp}/jwks.json` }],
      replay: new AssertionReplayGuard(),
      resourceScopes: (r) => (r === RESOURCE ? ["orders:read", "crm:pii"] : undefined),
      roleScopes: (roles) => roleScopes(identities, roles),
    });
  });

  afterAll(async () => {
    await new Promise((r) => jwksServer.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  const claims = (extra: JWTPayload = {}): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: idp,
      sub: "alice",
      aud: AS,
      resource: RESOURCE,
      client_id: "agent",
      jti: randomUUID(),
      iat: now,
      exp: now + 300,
      ...extra,
    };
  };
  const redeem = async (assertion: string, form: Record<string, string> = {}) =>
    redeemer.redeem(keys, "agent", { get: (n) => (n === "assertion" ? assertion : form[n]) });
  const refusal = async (assertion: string, form: Record<string, string> = {}) => {
    const err = await redeem(assertion, form).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AssertionRefused);
    return err as AssertionRefused;
  };

  it("redeems a good assertion for the person's role scopes at that resource, narrowed by the assertion's scope", async () => {
    const t = await redeem(await sign(claims({ scope: "orders:read tickets:draft" })));
    expect(t.scope).toBe("orders:read");
    const wide = await redeem(await sign(claims()));
    // support_agent has orders:read but not crm:pii; the resource offers both.
    expect(wide.scope).toBe("orders:read");
  });

  it("refuses an expired assertion, and one claiming to live longer than ten minutes", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await refusal(await sign(claims({ iat: now - 700, exp: now - 100 })))).message).toBe(
      "the assertion has expired",
    );
    expect((await refusal(await sign(claims({ exp: now + 3600 })))).message).toMatch(
      /lives longer than 600 s/,
    );
  });

  it("refuses a person Gatehouse does not know, the wrong typ, a missing claim and an unknown resource", async () => {
    expect((await refusal(await sign(claims({ sub: "mallory" })))).message).toMatch(
      /sub mallory is not a person Gatehouse knows/,
    );
    expect((await refusal(await sign(claims(), "JWT"))).message).toMatch(/typ is JWT, not oauth-id-jag\+jwt/);
    expect((await refusal(await sign(claims({ jti: undefined })))).message).toMatch(/has no jti claim/);
    expect((await refusal(await sign(claims({ resource: "http://127.0.0.1:9/mcp" })))).error).toBe(
      "invalid_target",
    );
    expect((await refusal(await sign(claims()), { resource: "http://127.0.0.1:9/mcp" })).message).toMatch(
      /is for .* not/,
    );
  });

  it("does not spend an assertion it refused: after a refused presentation, the right one still works once", async () => {
    const assertion = await sign(claims());
    await refusal(assertion, { resource: "http://127.0.0.1:9/mcp" });
    await redeem(assertion);
    expect((await refusal(assertion)).message).toMatch(/has already been used/);
  });

  it("refuses to trust an IdP whose issuer or keys are plain http off this machine", () => {
    expect(() =>
      checkedIdentityProvider({ issuer: "http://idp.example", jwksUri: "https://idp.example/jwks" }),
    ).toThrow(/issuer must be an https URL \(http only on loopback\); got http:\/\/idp.example/);
    expect(() =>
      checkedIdentityProvider({ issuer: "https://idp.example", jwksUri: "http://idp.example/jwks" }),
    ).toThrow(/jwksUri must be an https URL/);
    expect(
      checkedIdentityProvider({ issuer: "https://idp.example", jwksUri: "https://idp.example/jwks" }),
    ).toBeTruthy();
  });
});
