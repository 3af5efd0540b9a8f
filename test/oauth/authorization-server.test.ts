import { createHash, randomBytes } from "node:crypto";
import { TOKEN_EXCHANGE_GRANT } from "@gatehouse/sandbox";
import { createTestEnvironment, type SpawnedServer, type TestEnvironment } from "@gatehouse/testing";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerName, startAllServers } from "../support/all-servers.ts";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { connectWithSignIn } from "../support/oauth-client.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import { EMEA_ORDER } from "../support/servers.ts";
import { SignInBrowser, signIn } from "../support/sign-in.ts";

const REDIRECT = "http://127.0.0.1:6274/oauth/callback";
const BROWSER_ORIGIN = "http://127.0.0.1:6274";

const pkce = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

/**
 * The sandbox issuer as an OAuth 2.1 authorization server, driven by a real MCP client (the SDK's OAuth
 * support: discovery, dynamic registration, PKCE, resource indicators) and, for the attacks, by raw
 * requests an attacker would send.
 */
describe("sandbox authorization server: people sign in to MCP clients", () => {
  let env: TestEnvironment;
  let world: Awaited<ReturnType<typeof startAllServers>>;
  let servers: Record<ServerName, SpawnedServer>;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    world = await startAllServers(env);
    servers = world.servers;
  });

  afterAll(async () => {
    await world?.stop();
    await env?.close();
  });

  const register = async (metadata: Record<string, unknown> = {}, origin?: string) => {
    const res = await fetch(`${env.issuer.url}/register`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(origin ? { origin } : {}) },
      body: JSON.stringify({
        client_name: "attacker-or-test",
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        ...metadata,
      }),
    });
    return { res, body: (await res.json()) as { client_id: string; error?: string } };
  };

  const authorizeUrl = (params: Record<string, string>) => {
    const u = new URL(`${env.issuer.url}/authorize`);
    for (const [k, v] of Object.entries({ response_type: "code", redirect_uri: REDIRECT, ...params })) {
      u.searchParams.set(k, v);
    }
    return u;
  };

  const redeem = async (params: Record<string, string>, headers: Record<string, string> = {}) => {
    const res = await fetch(`${env.issuer.url}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ redirect_uri: REDIRECT, ...params }),
    });
    return { res, body: (await res.json()) as Record<string, string> };
  };

  /** A newly registered public client's authorization request for `resource`, with a fresh PKCE pair. */
  const newAuthorization = async (resource: string, extra: Record<string, string> = {}) => {
    const { body: client } = await register();
    const { verifier, challenge } = pkce();
    const url = authorizeUrl({
      client_id: client.client_id,
      code_challenge: challenge,
      code_challenge_method: "S256",
      resource,
      ...extra,
    });
    return { clientId: client.client_id, verifier, url };
  };

  /** A code for `user` at `resource`, obtained through the sign-in pages. */
  const codeFor = async (user: string, resource: string) => {
    const { clientId, verifier, url } = await newAuthorization(resource);
    const { callback } = await signIn(url, user);
    const code = callback.searchParams.get("code");
    if (!code) throw new Error(`no code: ${callback.href}`);
    /** The token request that redeems it, as its client would send it. */
    const grant = { grant_type: "authorization_code", client_id: clientId, code, code_verifier: verifier };
    return { clientId, verifier, code, grant };
  };

  it("signs alice in to every server with the SDK's OAuth client, and her calls are audited under that client", async () => {
    for (const [name, server] of Object.entries(servers)) {
      const { client, provider } = await connectWithSignIn(server.url, "alice");
      try {
        const claims = decodeJwt(provider.saved?.access_token ?? "");
        expect(claims, name).toMatchObject({
          iss: env.issuer.url,
          aud: server.url,
          sub: "alice",
          tenant: "emea",
          roles: ["support_agent"],
          client_id: provider.client?.client_id,
        });
        const { tools } = await client.listTools();
        expect(tools.length, name).toBeGreaterThan(0);
      } finally {
        await client.close();
      }
    }

    const { client, provider } = await connectWithSignIn(servers["order-lookup"]!.url, "alice");
    try {
      const r = (await client.callTool({
        name: "get_order",
        arguments: { order_id: EMEA_ORDER },
      })) as ToolResult;
      expect(r.isError, textOf(r)).toBe(false);
      const event = (await env.audit.latest(200)).find((e) => e.id === r._meta?.["io.gatehouse/audit-event"]);
      expect(event).toMatchObject({
        user_id: "alice",
        tenant: "emea",
        client_id: provider.client?.client_id,
      });
    } finally {
      await client.close();
    }
  });

  it("acts for the signed-in person across systems: business exchanges alice's OAuth token, never forwards it", async () => {
    const { client } = await connectWithSignIn(servers.business!.url, "alice");
    try {
      const r = (await client.callTool({
        name: "account_health",
        arguments: { account: "nordlicht-logistik.de" },
      })) as ToolResult;
      expect(r.isError, textOf(r)).toBe(false);
      const finding = r.structuredContent as Record<string, { status: string }>;
      expect(finding.orders?.status).toBe("ok");
      expect(finding.crm?.status).toBe("ok");
      const events = await env.audit.byCorrelation(String(r._meta?.["io.gatehouse/correlation-id"]));
      const downstream = events.filter((e) => e.server !== "business");
      expect(downstream.length).toBeGreaterThan(0);
      expect(downstream.every((e) => e.user_id === "alice" && e.client_id === "business")).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("cuts scopes to the person's roles: alice never gets orders:pii, dave (admin) does", async () => {
    const orders = servers["order-lookup"]!.url;
    const alice = await connectWithSignIn(orders, "alice");
    const dave = await connectWithSignIn(orders, "dave");
    try {
      expect(String(decodeJwt(alice.provider.saved!.access_token).scope).split(" ")).toEqual(["orders:read"]);
      expect(String(decodeJwt(dave.provider.saved!.access_token).scope).split(" ").sort()).toEqual([
        "orders:pii",
        "orders:read",
      ]);
    } finally {
      await alice.client.close();
      await dave.client.close();
    }
  });

  it("keeps a token to its server's own scopes, whatever the client asks for", async () => {
    const orders = servers["order-lookup"].url;
    for (const scope of [undefined, "crm:read orders:read", "crm:read"]) {
      const auth = await newAuthorization(orders, scope ? { scope } : {});
      const { callback } = await signIn(auth.url, "alice");
      const code = callback.searchParams.get("code");
      if (!code) {
        // Asking only for another server's scope leaves nothing to grant here.
        expect(scope).toBe("crm:read");
        expect(callback.searchParams.get("error")).toBe("access_denied");
        continue;
      }
      const { body } = await redeem({
        grant_type: "authorization_code",
        client_id: auth.clientId,
        code,
        code_verifier: auth.verifier,
      });
      expect(String(decodeJwt(body.access_token!).scope).split(" "), String(scope)).toEqual(["orders:read"]);
    }
  });

  it("exchanges for a server only the scopes the person's role has there", async () => {
    const { provider } = await connectWithSignIn(servers.business.url, "alice").then(async (c) => {
      await c.client.close();
      return c;
    });
    const { res, body } = await redeem(
      {
        grant_type: TOKEN_EXCHANGE_GRANT,
        subject_token: provider.saved!.access_token,
        subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
        resource: servers["order-lookup"].url,
      },
      { authorization: `Basic ${Buffer.from(`business:${world.businessSecret}`).toString("base64")}` },
    );
    expect(res.status).toBe(200);
    expect(decodeJwt(body.access_token!)).toMatchObject({
      sub: "alice",
      aud: servers["order-lookup"].url,
      scope: "orders:read",
      act: { sub: "business" },
    });
  });

  it("tells a person whose role has none of a server's scopes, and sends the client access_denied", async () => {
    // carol (approver) has no tickets:draft.
    const auth = await newAuthorization(servers["ticket-draft"].url);
    const browser = new SignInBrowser(env.issuer.url);
    const first = await browser.visit(auth.url.href);
    const consent = await browser.submit(first.page!, "login", { user: "carol" });
    expect(consent.page).toMatch(/carol cannot use this server/);
    expect(consent.page).not.toMatch(/value="allow"/);
    const back = await browser.submit(consent.page!, "abort");
    expect(back.redirect?.searchParams.get("error")).toBe("access_denied");
    expect(back.redirect?.searchParams.has("code")).toBe(false);
  });

  it("lets a second person sign in from the same browser (prompt=login)", async () => {
    const orders = servers["order-lookup"].url;
    const { body: client } = await register();
    const alice = pkce();
    const params = {
      client_id: client.client_id,
      code_challenge_method: "S256",
      resource: orders,
    };
    const { browser } = await signIn(authorizeUrl({ ...params, code_challenge: alice.challenge }), "alice");
    const dave = pkce();
    const { callback } = await signIn(
      authorizeUrl({ ...params, code_challenge: dave.challenge, prompt: "login" }),
      "dave",
      { browser },
    );
    const { body } = await redeem({
      grant_type: "authorization_code",
      client_id: client.client_id,
      code: callback.searchParams.get("code") ?? "",
      code_verifier: dave.verifier,
    });
    expect(decodeJwt(body.access_token!)).toMatchObject({ sub: "dave", roles: ["admin"] });
  });

  it("binds a token to one server: alice's order-lookup token is refused, and audited, by crm-read", async () => {
    const { client, provider } = await connectWithSignIn(servers["order-lookup"]!.url, "alice");
    await client.close();
    const res = await rawRequest(servers["crm-read"]!.url, {
      headers: { ...MCP_HEADERS, authorization: `Bearer ${provider.saved!.access_token}` },
      body: callToolBody("search_companies", { query: "nord" }),
    });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toMatch(/the access token was not issued for this server/);
    const rejected = (await env.audit.latest(200)).filter(
      (e) =>
        e.type === "auth.rejected" &&
        e.server === "crm-read" &&
        e.detail.includes("not issued for this server"),
    );
    expect(rejected).toHaveLength(1);
  });

  it("requires PKCE with S256: no challenge, or a plain one, gets no code", async () => {
    const { body: client } = await register();
    const resource = servers["order-lookup"]!.url;
    const noPkce = await new SignInBrowser(env.issuer.url).visit(
      authorizeUrl({ client_id: client.client_id, resource }).href,
    );
    expect(noPkce.redirect?.searchParams.get("error")).toBe("invalid_request");
    expect(noPkce.redirect?.searchParams.get("error_description")).toMatch(/PKCE/);
    expect(noPkce.redirect?.searchParams.has("code")).toBe(false);
    const plain = await new SignInBrowser(env.issuer.url).visit(
      authorizeUrl({
        client_id: client.client_id,
        resource,
        code_challenge: "a".repeat(43),
        code_challenge_method: "plain",
      }).href,
    );
    expect(plain.redirect?.searchParams.get("error")).toBe("invalid_request");
    expect(plain.redirect?.searchParams.has("code")).toBe(false);
  });

  it("refuses a code redeemed with the wrong verifier, and a code used twice", async () => {
    const resource = servers["order-lookup"]!.url;
    const stolen = await codeFor("alice", resource);
    const wrong = await redeem({ ...stolen.grant, code_verifier: pkce().verifier });
    expect(wrong.res.status).toBe(400);
    expect(wrong.body.error).toBe("invalid_grant");

    const { grant } = await codeFor("alice", resource);
    const first = await redeem(grant);
    expect(first.res.status).toBe(200);
    expect(decodeJwt(first.body.access_token!).aud).toBe(resource);
    const replay = await redeem(grant);
    expect(replay.res.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");
  });

  it("never redirects to a URI the client did not register", async () => {
    const auth = await newAuthorization(servers["order-lookup"]!.url, {
      redirect_uri: "https://attacker.example/steal",
    });
    const page = await new SignInBrowser(env.issuer.url).visit(auth.url.href);
    expect(page.redirect).toBeUndefined();
    expect(page.status).toBe(400);
    expect(page.page).toMatch(/redirect_uri/);
  });

  it("registers redirect URIs on this machine or https only", async () => {
    for (const [bad, extra] of [
      ["http://attacker.example/callback", {}],
      ["com.example.app:/callback", { application_type: "native" }],
    ] as const) {
      const { res, body } = await register({ redirect_uris: [bad], ...extra });
      expect(res.status, bad).toBe(400);
      expect(body, bad).toMatchObject({ error: "invalid_redirect_uri" });
    }
    for (const ok of [
      "http://localhost:6274/oauth/callback",
      "http://[::1]:9/cb",
      "https://app.example/cb",
    ]) {
      expect((await register({ redirect_uris: [ok] })).res.status, ok).toBe(201);
    }
  });

  it("mints tokens only for registered servers (invalid_target otherwise)", async () => {
    const auth = await newAuthorization("http://127.0.0.1:9/mcp");
    const step = await new SignInBrowser(env.issuer.url).visit(auth.url.href);
    expect(step.redirect?.searchParams.get("error")).toBe("invalid_target");
    expect(step.redirect?.searchParams.has("code")).toBe(false);
  });

  it("shows a hostile client name as text on the sign-in and consent pages, never as markup", async () => {
    const evil = `<script>alert(1)</script><img src=x onerror=alert(2)>"'`;
    const { body: client } = await register({ client_name: evil });
    const { challenge } = pkce();
    const browser = new SignInBrowser(env.issuer.url);
    const login = await browser.visit(
      authorizeUrl({
        client_id: client.client_id,
        code_challenge: challenge,
        code_challenge_method: "S256",
        resource: servers["order-lookup"].url,
      }).href,
    );
    const consent = await browser.submit(login.page!, "login", { user: "alice" });
    for (const page of [login.page!, consent.page!]) {
      expect(page).not.toContain("<script>");
      expect(page).not.toContain("<img");
      expect(page).toContain(
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;",
      );
    }
  });

  it("sends a person who denies consent back with access_denied and no code", async () => {
    const auth = await newAuthorization(servers["order-lookup"]!.url);
    const { callback } = await signIn(auth.url, "alice", { consent: "deny" });
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.has("code")).toBe(false);
  });

  it("lets no public client use the exchange grant, even one that registered for it", async () => {
    const resource = servers.business!.url;
    const code = await codeFor("alice", resource);
    const { body: tokens } = await redeem(code.grant);
    const exchange = {
      subject_token: tokens.access_token!,
      subject_token_type: "urn:ietf:params:oauth:token-type:access_token",
      resource: servers["order-lookup"]!.url,
    };
    // A client registered for authorization codes may not use the exchange grant at all...
    const plain = await redeem({ grant_type: TOKEN_EXCHANGE_GRANT, client_id: code.clientId, ...exchange });
    expect(plain.res.status).toBe(400);
    expect(plain.body).toMatchObject({
      error: "invalid_request",
      error_description: "requested grant type is not allowed for this client",
    });
    // ...and one that registered for it is still not an exchange client the issuer was configured with.
    const { res: registered, body: sneaky } = await register({
      grant_types: [TOKEN_EXCHANGE_GRANT],
      response_types: [],
      redirect_uris: [],
    });
    expect(registered.status).toBe(201);
    const refused = await redeem({
      grant_type: TOKEN_EXCHANGE_GRANT,
      client_id: sneaky.client_id,
      ...exchange,
    });
    expect(refused.res.status).toBe(400);
    expect(refused.body.error).toBe("unauthorized_client");
    expect(refused.body.access_token).toBeUndefined();
  });

  it("refreshes a token for the same server only", async () => {
    const resource = servers["order-lookup"]!.url;
    const code = await codeFor("alice", resource);
    const { body: tokens } = await redeem(code.grant);
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await redeem({
      grant_type: "refresh_token",
      client_id: code.clientId,
      refresh_token: tokens.refresh_token!,
    });
    expect(refreshed.res.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token!)).toMatchObject({ aud: resource, sub: "alice" });
    const elsewhere = await redeem({
      grant_type: "refresh_token",
      client_id: code.clientId,
      refresh_token: refreshed.body.refresh_token!,
      resource: servers["crm-read"]!.url,
    });
    expect(elsewhere.res.status).toBe(400);
    expect(elsewhere.body.error).toBe("invalid_target");
  });

  it("answers browser clients' CORS checks on loopback only", async () => {
    const metadata = await rawRequest(
      `${new URL(servers["order-lookup"]!.url).origin}/.well-known/oauth-protected-resource`,
      {
        method: "OPTIONS",
        headers: {
          origin: BROWSER_ORIGIN,
          "access-control-request-method": "GET",
          "access-control-request-headers": "mcp-protocol-version",
        },
      },
    );
    expect(metadata.status).toBe(204);
    expect(metadata.headers["access-control-allow-origin"]).toBe("*");

    const fromInspector = await register({}, BROWSER_ORIGIN);
    expect(fromInspector.res.status).toBe(201);
    expect(fromInspector.res.headers.get("access-control-allow-origin")).toBe(BROWSER_ORIGIN);
    const fromElsewhere = await register({}, "https://evil.example");
    expect(fromElsewhere.res.headers.get("access-control-allow-origin")).toBeNull();

    // The MCP endpoint itself keeps refusing foreign browser origins.
    const mcp = await rawRequest(servers["order-lookup"]!.url, {
      headers: { ...MCP_HEADERS, origin: "https://evil.example" },
      body: callToolBody("get_order", { order_id: EMEA_ORDER }),
    });
    expect(mcp.status).toBe(403);
  });
});
