import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeMatrix } from "../setup/stores.ts";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";
import { forgedTokens } from "../support/tokens.ts";

describe.each(storeMatrix())(
  "order-lookup refuses bad callers at the HTTP gate ($storeKind store)",
  (store) => {
    let env: TestEnvironment;
    let server: SpawnedServer;
    let forged: Record<string, string>;
    const call = callToolBody("get_order", { order_id: "SO-100001" });

    const rejections = async () =>
      (await env.audit.latest(1000))
        .filter((e) => e.type === "auth.rejected")
        .map((e) => ({ ...e, detail: JSON.parse(e.detail) as { reason: string; status: number } }));

    beforeAll(async () => {
      env = await createTestEnvironment(store);
      server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, { ...env.env, ...RELAXED_LIMITS });
      forged = await forgedTokens(env, server.url);
    });

    afterAll(async () => {
      await server?.stop();
      await env?.close();
    });

    it("answers a request without a token with 401 and a pointer to its protected-resource metadata", async () => {
      const res = await rawRequest(server.url, { headers: MCP_HEADERS, body: call });
      expect(res.status).toBe(401);
      const metadataUrl = `${new URL(server.url).origin}/.well-known/oauth-protected-resource/mcp`;
      expect(res.headers["www-authenticate"]).toBe(`Bearer resource_metadata="${metadataUrl}"`);
      const meta = await rawRequest(metadataUrl, { method: "GET" });
      expect(meta.status).toBe(200);
      expect(JSON.parse(meta.body)).toMatchObject({
        resource: server.url,
        authorization_servers: [env.issuer.url],
        scopes_supported: ["orders:pii", "orders:read"],
      });
      expect((await rejections()).at(-1)?.detail.reason).toBe("no access token was presented");
    });

    const attacks = [
      ["alg none", "the access token's signing algorithm is not accepted"],
      ["HS256 with the public key as secret", "the access token's signing algorithm is not accepted"],
      ["minted for another server", "the access token was not issued for this server"],
      ["from another issuer", "the access token was not issued by"],
      ["expired", "the access token has expired"],
      ["not valid yet", "the access token is not valid yet"],
      ["signed by an unknown key", "the access token's signature is invalid"],
      ["payload edited to tenant na", "the access token's signature is invalid"],
      ["without tenant or roles", "the access token names no user, tenant or roles"],
      ["not a JWT", "the access token is malformed or invalid"],
    ] as const;

    it.each(attacks)("refuses a token %s with 401 invalid_token, and audits it", async (name, reason) => {
      const before = (await rejections()).length;
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${forged[name]}` },
        body: call,
      });
      expect(res.status).toBe(401);
      expect(String(res.headers["www-authenticate"])).toMatch(
        /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="http:\/\/.+\/\.well-known\/oauth-protected-resource\/mcp"$/,
      );
      expect(res.body).not.toContain("SO-100001");
      const after = await rejections();
      expect(after.length).toBe(before + 1);
      expect(after.at(-1)!.detail.reason).toContain(reason);
      expect(after.at(-1)!.user_id).toBeNull();
    });

    it("refuses a token passed in the query string, even a valid one", async () => {
      const token = await env.mint("alice", { audience: server.url });
      const res = await rawRequest(`${server.url}?access_token=${token}`, {
        headers: MCP_HEADERS,
        body: call,
      });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).error).toBe("invalid_request");
      expect((await rejections()).at(-1)!.detail.reason).toContain("query string");
    });

    it("answers 403 insufficient_scope to a valid token without any order scope", async () => {
      const token = await env.mint("alice", { audience: server.url, scopes: ["tickets:draft"] });
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: call,
      });
      expect(res.status).toBe(403);
      expect(String(res.headers["www-authenticate"])).toContain('error="insufficient_scope"');
      expect(String(res.headers["www-authenticate"])).toContain('scope="orders:pii orders:read"');
      const last = (await rejections()).at(-1)!;
      expect(last.user_id).toBe("alice");
      expect(last.outcome).toBe("insufficient_scope");
    });

    it("answers 403 insufficient_scope naming the tool's scope when only a PII scope is held", async () => {
      const token = await env.mint("dave", { audience: server.url, scopes: ["orders:pii"] });
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: call,
      });
      expect(res.status).toBe(403);
      expect(String(res.headers["www-authenticate"])).toContain('scope="orders:read"');
    });

    it("rejects a foreign Host header (DNS rebinding) before looking at credentials", async () => {
      const token = await env.mint("alice", { audience: server.url });
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, host: "evil.example:80", authorization: `Bearer ${token}` },
        body: call,
      });
      expect(res.status).toBe(403);
      expect(res.body).toContain("Invalid Host");
    });

    it("rejects a browser request from a foreign Origin", async () => {
      const token = await env.mint("alice", { audience: server.url });
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, origin: "https://evil.example", authorization: `Bearer ${token}` },
        body: call,
      });
      expect(res.status).toBe(403);
      expect(res.body).toContain("Invalid Origin");
    });

    it("refuses a request body over the size limit with 413", async () => {
      const token = await env.mint("alice", { audience: server.url });
      const huge = callToolBody("search_customers", { query: "x".repeat(2 * 1024 * 1024) });
      const res = await rawRequest(server.url, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: huge,
      });
      expect(res.status).toBe(413);
    });

    it("answers GET on the MCP endpoint with 405: the server is stateless", async () => {
      const token = await env.mint("alice", { audience: server.url });
      const res = await rawRequest(server.url, {
        method: "GET",
        headers: { accept: "text/event-stream", authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(405);
    });

    it("binds to loopback by default", () => {
      expect(new URL(server.url).hostname).toBe("127.0.0.1");
    });
  },
);
