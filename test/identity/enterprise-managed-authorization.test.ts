import { createHash, randomBytes } from "node:crypto";
import {
  ENTERPRISE_MANAGED_AUTHORIZATION,
  JWT_BEARER_GRANT,
  type RunningEnterpriseIdp,
  startEnterpriseIdp,
} from "@gatehouse/sandbox";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import {
  Client,
  CrossAppAccessProvider,
  exchangeJwtAuthGrant,
  requestJwtAuthorizationGrant,
  StreamableHTTPClientTransport,
} from "@modelcontextprotocol/client";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerName, startAllServers } from "../support/all-servers.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import { EMEA_ORDER } from "../support/servers.ts";
import { signIn } from "../support/sign-in.ts";

const REDIRECT = "http://127.0.0.1:6274/sso/callback";
const secret = () => randomBytes(24).toString("hex");

/** Signs `user` in to `clientId` at the enterprise IdP (OpenID Connect, code + PKCE) and returns the ID token. */
async function ssoSignIn(idp: RunningEnterpriseIdp, clientId: string, clientSecret: string, user: string) {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(`${idp.url}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: "openid",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  })) {
    url.searchParams.set(k, v);
  }
  const { callback, browser } = await signIn(url, user);
  const code = callback.searchParams.get("code");
  if (!code) throw new Error(`no code from the IdP: ${callback.href}`);
  const res = await fetch(`${idp.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  const body = (await res.json()) as { id_token?: string };
  if (!body.id_token) throw new Error(`no ID token from the IdP: ${JSON.stringify(body)}`);
  return { idToken: body.id_token, pages: browser.pages };
}

/**
 * Enterprise-managed authorization (SEP-990): people sign in once at the enterprise IdP; the MCP client
 * trades their ID token for an ID-JAG per server at the IdP and redeems it at Gatehouse's authorization
 * server with the JWT bearer grant. Driven by the MCP SDK v2 client's CrossAppAccessProvider; the attacks
 * use the SDK's own token-request functions, as a misbehaving client would.
 */
describe("enterprise-managed authorization: ID-JAGs from the enterprise IdP", () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  let idp: RunningEnterpriseIdp;
  let rogueIdp: RunningEnterpriseIdp;
  // The MCP client people use ("desktop") and bob's own one, each with a secret at the IdP and at Gatehouse.
  const desktop = { idpSecret: secret(), asSecret: secret() };
  const laptop = { idpSecret: secret(), asSecret: secret() };

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    world = await startAllServers(env);
    env.issuer.setAudit((event) => env.audit.append(event));
    const gatehouse = env.issuer.url;
    idp = await startEnterpriseIdp({
      clients: {
        "desktop-agent": {
          secret: desktop.idpSecret,
          redirectUris: [REDIRECT],
          authorizationServers: { [gatehouse]: "desktop-agent", "https://other-as.example": "desktop-agent" },
        },
        "bob-laptop": {
          secret: laptop.idpSecret,
          redirectUris: [REDIRECT],
          authorizationServers: { [gatehouse]: "bob-laptop" },
          people: ["bob"],
        },
      },
    });
    // An IdP Gatehouse was never told to trust, issuing otherwise perfect ID-JAGs for the same client.
    rogueIdp = await startEnterpriseIdp({
      clients: {
        "desktop-agent": {
          secret: desktop.idpSecret,
          redirectUris: [REDIRECT],
          authorizationServers: { [gatehouse]: "desktop-agent" },
        },
      },
    });
    env.issuer.trustIdentityProvider({ issuer: idp.url, jwksUri: idp.jwksUri });
    env.issuer.registerAssertionClient("desktop-agent", desktop.asSecret);
    env.issuer.registerAssertionClient("bob-laptop", laptop.asSecret);
  });

  afterAll(async () => {
    await world?.stop();
    await idp?.close();
    await rogueIdp?.close();
    await env?.close();
  });

  const idJagFor = async (
    from: RunningEnterpriseIdp,
    idToken: string,
    resource: string,
    client = { id: "desktop-agent", secret: desktop.idpSecret },
    audience = env.issuer.url,
  ) =>
    (
      await requestJwtAuthorizationGrant({
        tokenEndpoint: `${from.url}/token`,
        audience,
        resource,
        idToken,
        clientId: client.id,
        clientSecret: client.secret,
      })
    ).jwtAuthGrant;

  const redeem = (idJag: string, client = { id: "desktop-agent", secret: desktop.asSecret }) =>
    exchangeJwtAuthGrant({
      tokenEndpoint: `${env.issuer.url}/token`,
      jwtAuthGrant: idJag,
      clientId: client.id,
      clientSecret: client.secret,
    });

  /** The authorization server's audit event refusing a JWT bearer grant for `reason`. */
  const refusalAudited = async (reason: RegExp) => {
    for (let i = 0; i < 50; i++) {
      for (const e of await env.audit.latest(200)) {
        const detail = JSON.parse(e.detail) as Record<string, string>;
        if (e.type === "auth.rejected" && detail.grant === "jwt-bearer" && reason.test(detail.reason ?? "")) {
          return { ...e, detail };
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no audit event refusing a JWT bearer grant for ${reason}`);
  };

  it("advertises the extension and the JWT bearer grant in the authorization server's metadata", async () => {
    const metadata = (await (
      await fetch(`${env.issuer.url}/.well-known/oauth-authorization-server`)
    ).json()) as {
      grant_types_supported: string[];
      mcp_extensions: Record<string, unknown>;
      authorization_grant_profiles_supported: string[];
    };
    expect(metadata.grant_types_supported).toContain(JWT_BEARER_GRANT);
    expect(metadata.mcp_extensions).toHaveProperty([ENTERPRISE_MANAGED_AUTHORIZATION]);
    expect(metadata.authorization_grant_profiles_supported).toContain(
      "urn:ietf:params:oauth:grant-profile:id-jag",
    );
  });

  it("alice signs in once at the IdP and the SDK's CrossAppAccessProvider reaches every server, no consent screen", async () => {
    const { idToken, pages } = await ssoSignIn(idp, "desktop-agent", desktop.idpSecret, "alice");
    expect(pages.some((p) => p.includes('/consent"'))).toBe(false);
    let assertions = 0;
    for (const [name, server] of Object.entries(world.servers) as [ServerName, { url: string }][]) {
      const provider = new CrossAppAccessProvider({
        assertion: async (ctx) => {
          assertions++;
          return idJagFor(
            idp,
            idToken,
            String(ctx.resourceUrl),
            undefined,
            String(ctx.authorizationServerUrl),
          );
        },
        clientId: "desktop-agent",
        clientSecret: desktop.asSecret,
        expectedIssuer: env.issuer.url,
      });
      const client = new Client({ name: "gatehouse-cross-app-test", version: "1.0.0" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(server.url), { authProvider: provider }),
      );
      try {
        expect(decodeJwt(provider.tokens()?.access_token ?? ""), name).toMatchObject({
          iss: env.issuer.url,
          aud: server.url,
          sub: "alice",
          tenant: "emea",
          roles: ["support_agent"],
          client_id: "desktop-agent",
        });
        expect((await client.listTools()).tools.length, name).toBeGreaterThan(0);
        if (name === "order-lookup") {
          const r = (await client.callTool({
            name: "get_order",
            arguments: { order_id: EMEA_ORDER },
          })) as ToolResult;
          expect(r.isError, textOf(r)).toBe(false);
          const event = (await env.audit.latest(200)).find(
            (e) => e.id === r._meta?.["io.gatehouse/audit-event"],
          );
          expect(event).toMatchObject({ user_id: "alice", tenant: "emea", client_id: "desktop-agent" });
        }
      } finally {
        await client.close();
      }
    }
    expect(assertions).toBe(Object.keys(world.servers).length);
  });

  it("refuses bob's ID-JAG presented by alice's client (it was issued to bob's), and audits it", async () => {
    const { idToken } = await ssoSignIn(idp, "bob-laptop", laptop.idpSecret, "bob");
    const bobs = await idJagFor(idp, idToken, world.servers["order-lookup"].url, {
      id: "bob-laptop",
      secret: laptop.idpSecret,
    });
    await expect(redeem(bobs)).rejects.toThrow(
      /invalid_grant - the assertion was issued to client bob-laptop, not to desktop-agent which presented it/,
    );
    const event = await refusalAudited(/issued to client bob-laptop/);
    expect(event).toMatchObject({ server: "authorization-server", outcome: "invalid_grant" });
    expect(event.detail).toMatchObject({ client_id: "desktop-agent", assertion_subject: "bob" });
    // Bob's own client redeems it: the refusal was about who presented it, not the assertion.
    const tokens = await redeem(bobs, { id: "bob-laptop", secret: laptop.asSecret });
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      sub: "bob",
      tenant: "na",
      client_id: "bob-laptop",
    });
  });

  it("refuses an ID-JAG from an identity provider it does not trust, and audits it", async () => {
    const { idToken } = await ssoSignIn(rogueIdp, "desktop-agent", desktop.idpSecret, "alice");
    const forged = await idJagFor(rogueIdp, idToken, world.servers["order-lookup"].url);
    await expect(redeem(forged)).rejects.toThrow(
      new RegExp(`the assertion's issuer ${rogueIdp.url} is not a trusted identity provider`),
    );
    const event = await refusalAudited(/is not a trusted identity provider/);
    expect(event.detail).toMatchObject({ client_id: "desktop-agent", assertion_issuer: rogueIdp.url });
  });

  it("refuses a replayed ID-JAG, and audits it", async () => {
    const { idToken } = await ssoSignIn(idp, "desktop-agent", desktop.idpSecret, "alice");
    const idJag = await idJagFor(idp, idToken, world.servers["crm-read"].url);
    const first = await redeem(idJag);
    expect(decodeJwt(first.access_token)).toMatchObject({ sub: "alice", aud: world.servers["crm-read"].url });
    await expect(redeem(idJag)).rejects.toThrow(/invalid_grant - the assertion .* has already been used/);
    const event = await refusalAudited(/has already been used/);
    expect(event.detail).toMatchObject({ assertion_jti: decodeJwt(idJag).jti, assertion_subject: "alice" });
  });

  it("refuses an ID-JAG meant for another authorization server, and audits it", async () => {
    const { idToken } = await ssoSignIn(idp, "desktop-agent", desktop.idpSecret, "alice");
    const elsewhere = await idJagFor(
      idp,
      idToken,
      world.servers["order-lookup"].url,
      undefined,
      "https://other-as.example",
    );
    await expect(redeem(elsewhere)).rejects.toThrow(
      /the assertion's audience is not this authorization server/,
    );
    await refusalAudited(/audience is not this authorization server/);
  });
});
