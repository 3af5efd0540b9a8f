import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { AuthError, type Identity, type TokenVerifier } from "@gatehouse/governance";
import { describe, expect, it, vi } from "vitest";
import { requireAnyScope, requireToolScopes } from "../src/http/bearer-gate.ts";
import { serveHealth } from "../src/http/health.ts";
import {
  challenge,
  protectedResource,
  protectedResourceMetadataUrl,
} from "../src/http/protected-resource.ts";
import { readJsonRpcBody } from "../src/http/request-body.ts";
import { httpIdentity } from "../src/identity-resolvers.ts";
import type { IdentityResolver } from "../src/mcp-server.ts";

const resource = protectedResource({
  resourceUrl: "https://mcp.example.com/orders/mcp",
  issuer: "https://idp.example.com",
  scopes: ["orders:read", "orders:pii"],
  name: "Orders",
});

const identity: Identity = {
  user: "alice",
  roles: ["support-agent"],
  tenant: "emea",
  client: "c",
  env: "test",
  tokenId: "t",
  scopes: ["orders:read"],
};

describe("protected-resource metadata and challenges", () => {
  it("puts the well-known prefix before the resource's path (RFC 9728), and serves the bare path too", () => {
    expect(protectedResourceMetadataUrl("https://mcp.example.com/orders/mcp")).toBe(
      "https://mcp.example.com/.well-known/oauth-protected-resource/orders/mcp",
    );
    expect(resource.metadataPaths).toEqual([
      "/.well-known/oauth-protected-resource/orders/mcp",
      "/.well-known/oauth-protected-resource",
    ]);
    expect(resource.metadata.bearer_methods_supported).toEqual(["header"]);
  });

  it("answers no credentials with the bare challenge: no error code (RFC 6750 §3.1)", async () => {
    const a = await challenge(AuthError.noToken(), resource);
    expect(a.status).toBe(401);
    expect(a.headers["www-authenticate"]).toBe(`Bearer resource_metadata="${resource.metadataUrl}"`);
  });

  it("quotes what it cannot trust: a quote, a backslash and a newline in a description cannot break the header", async () => {
    const a = await challenge(new AuthError("invalid_token", 'bad "token"\\\r\nx-injected: 1'), resource);
    const header = a.headers["www-authenticate"]!;
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toContain('error_description="bad \\"token\\"\\\\  x-injected: 1"');
    expect(a.status).toBe(401);
    expect(JSON.parse(a.body)).toEqual({
      error: "invalid_token",
      error_description: 'bad "token"\\\r\nx-injected: 1',
    });
  });

  it("names the scopes a 403 needs, and where the metadata is", async () => {
    const a = await challenge(
      new AuthError("insufficient_scope", "needs more", "orders:read orders:pii"),
      resource,
    );
    expect(a.status).toBe(403);
    expect(a.headers["www-authenticate"]).toBe(
      `Bearer error="insufficient_scope", error_description="needs more", scope="orders:read orders:pii", resource_metadata="${resource.metadataUrl}"`,
    );
  });

  it("answers a malformed request with 400 invalid_request and a challenge", async () => {
    const a = await challenge(new AuthError("invalid_request", "token in the query string"), resource);
    expect(a.status).toBe(400);
    expect(a.headers["www-authenticate"]).toMatch(/^Bearer error="invalid_request", /);
  });
});

describe("the bearer gate's scope checks", () => {
  it("refuses a token with none of the server's scopes", () => {
    expect(() => requireAnyScope(identity, ["tickets:read"])).toThrow(
      /this server needs one of: tickets:read/,
    );
    expect(() => requireAnyScope(identity, ["tickets:read", "orders:read"])).not.toThrow();
  });

  it("steps up on any call in a batch whose tool needs a scope the token lacks", () => {
    const scopeOf = new Map([
      ["get_order", "orders:read"],
      ["search_customers", "orders:pii"],
    ]);
    const call = (name: string) => ({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } });
    expect(() => requireToolScopes(identity, call("get_order"), scopeOf)).not.toThrow();
    try {
      requireToolScopes(identity, [call("get_order"), call("search_customers")], scopeOf);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).requiredScope).toBe("orders:pii");
    }
    // Unknown tools and other methods are the MCP layer's to refuse.
    expect(() =>
      requireToolScopes(identity, [call("nope"), { method: "tools/list" }, null], scopeOf),
    ).not.toThrow();
  });
});

function bodyOf(text: string): IncomingMessage {
  const r = Readable.from([Buffer.from(text)]) as unknown as IncomingMessage;
  (r as { headers: Record<string, string> }).headers = {};
  return r;
}

describe("a JSON-RPC body", () => {
  it("is refused over the limit (413), when not JSON (-32700), and when nested too deep", async () => {
    expect(await readJsonRpcBody(bodyOf("x".repeat(100)), 10)).toMatchObject({ ok: false, status: 413 });
    expect(await readJsonRpcBody(bodyOf("{nope"), 100)).toMatchObject({
      ok: false,
      status: 400,
      code: -32700,
    });
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(await readJsonRpcBody(bodyOf(deep), 100_000)).toMatchObject({
      ok: false,
      status: 400,
      code: -32600,
    });
    expect(await readJsonRpcBody(bodyOf('{"jsonrpc":"2.0"}'), 100)).toEqual({
      ok: true,
      message: { jsonrpc: "2.0" },
    });
  });
});

function recorder(): ServerResponse & { status?: number; text: string } {
  const res = {
    text: "",
    writeHead(status: number) {
      res.status = status;
      return res;
    },
    end(chunk?: string) {
      res.text += chunk ?? "";
    },
  } as unknown as ServerResponse & { status?: number; text: string };
  return res;
}

describe("readiness", () => {
  const server = { name: "s", version: "1" };

  it("is 503 naming the check that failed, threw, or hung past its bound", async () => {
    const res = recorder();
    const started = Date.now();
    await serveHealth(res, "/readyz", server, [
      { name: "fine", check: async () => true },
      { name: "false", check: async () => false },
      { name: "throws", check: async () => Promise.reject(new Error("postgres://u:secret@db")) },
      { name: "hangs", check: () => new Promise(() => {}) },
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({
      ready: false,
      server: "s",
      checks: { fine: true, false: false, throws: false, hangs: false },
    });
    expect(res.text).not.toContain("secret");
  });

  it("is 200 when every check passes", async () => {
    const res = recorder();
    await serveHealth(res, "/readyz", server, [{ name: "store", check: async () => undefined }]);
    expect(res.status).toBe(200);
  });
});

describe("the HTTP identity resolver", () => {
  const ctx = (token?: string) =>
    ({ http: token ? { authInfo: { token } } : undefined }) as Parameters<IdentityResolver>[0];

  it("verifies the request's token again (a cache hit in practice), so a token that lapsed since the gate is refused", async () => {
    const verifier: TokenVerifier = {
      verify: vi.fn(async (t: string) => {
        if (t === "lapsed") throw new AuthError("invalid_token", "the access token has expired");
        return identity;
      }),
      keysReady: async () => true,
    };
    const resolve = httpIdentity(verifier);
    await expect(resolve(ctx("good"))).resolves.toEqual(identity);
    await expect(resolve(ctx("lapsed"))).rejects.toThrow(/expired/);
    await expect(resolve(ctx())).rejects.toThrow(/without a verified token/);
  });
});
