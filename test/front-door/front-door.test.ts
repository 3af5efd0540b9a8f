import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog } from "@gatehouse/governance";
import { openStore } from "@gatehouse/store";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frontDoorConfig, publicResourceUrl } from "../../packages/cli/src/front-door/index.ts";
import { HAPROXY_BIN } from "../replicas/haproxy.ts";
import { runCli } from "../support/cli.ts";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { connectWithSignIn } from "../support/oauth-client.ts";
import { type ToolResult, textOf } from "../support/results.ts";
import { EMEA_ORDER, NA_ORDER } from "../support/servers.ts";
import { type StartedGatehouse, startGatehouse } from "./gatehouse-start.ts";

const SERVERS = ["order-lookup", "crm-read", "ticket-draft", "ticket-send", "business"];

/** A raw exchange on one socket: what HAProxy answers (or when it closes) after `send`, within `waitMs`. */
function rawSocket(
  port: number,
  send: string,
  waitMs: number,
): Promise<{ answer: string; closedAfterMs?: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = connect({ host: "127.0.0.1", port });
    let answer = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      answer += d;
    });
    s.on("connect", () => s.write(send));
    s.on("error", () => undefined);
    s.on("close", () => resolve({ answer, closedAfterMs: Date.now() - started }));
    setTimeout(() => {
      s.destroy();
      resolve({ answer });
    }, waitMs).unref();
  });
}

describe("the generated front door configuration", () => {
  it("routes each server and the issuer by exact path, refuses large bodies, and passes HAProxy's own check", () => {
    const cfg = frontDoorConfig({
      listenHost: "127.0.0.1",
      listenPort: 17180,
      publicBase: "https://mcp.example.com/",
      routes: [
        { name: "order-lookup", port: 7101 },
        { name: "crm-read", port: 7102 },
      ],
      issuerPort: 7100,
      maxBodyBytes: 1024,
      requestTimeoutMs: 5000,
      idleTimeoutMs: 35_000,
    });
    expect(cfg).toContain(
      "acl route_order-lookup path /order-lookup/mcp /.well-known/oauth-protected-resource/order-lookup/mcp",
    );
    expect(cfg).toContain("bind 127.0.0.1:17180");
    expect(cfg).toContain("req.hdr_val(content-length) gt 1024");
    expect(cfg).toContain("timeout http-request 5000ms");
    expect(cfg).toContain("set-header X-Forwarded-Proto https");
    expect(cfg).toMatch(
      /return status 404 .* unless route_order-lookup \|\| route_crm-read \|\| route_issuer/,
    );
    expect(publicResourceUrl("https://mcp.example.com/", "crm-read")).toBe(
      "https://mcp.example.com/crm-read/mcp",
    );
    expect(() => publicResourceUrl("https://example.com/gatehouse", "crm-read")).toThrow(/no path/);
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-door-cfg-"));
    try {
      const file = join(dir, "haproxy.cfg");
      writeFileSync(file, cfg);
      const check = spawnSync(HAPROXY_BIN, ["-c", "-q", "-f", file], { encoding: "utf8" });
      expect(check.status, check.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * `gatehouse start` with a public URL: every server and the sandbox authorization server behind one HAProxy
 * listener, reached by real MCP clients only through it. The public URL here is the door's own loopback
 * address (no tunnel); test/tunnel puts a real tunnel in front.
 */
describe("gatehouse start behind the front door (real HAProxy)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-door-"));
  const offset = 100 * (3 + Math.floor(Math.random() * 7));
  const doorPort = 7180 + offset;
  const base = `http://127.0.0.1:${doorPort}`;
  const urlOf = (name: string) => `${base}/${name}/mcp`;
  let gh: StartedGatehouse;

  const audit = async () => {
    const store = openStore({ sqlitePath: join(dataDir, "gatehouse.db") });
    try {
      return await new AuditLog(store).latest(2000);
    } finally {
      await store.close();
    }
  };
  const mint = (user: string, server: string) => {
    const r = runCli(["token", "--user", user, "--audience", urlOf(server)], {
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_ISSUER: base,
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    gh = await startGatehouse({
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_PORT_OFFSET: String(offset),
      GATEHOUSE_PUBLIC_BASE_URL: base,
      GATEHOUSE_FRONT_DOOR_REQUEST_TIMEOUT_MS: "1500",
    });
  }, 150_000);

  afterAll(async () => {
    await gh?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("prints one front door and each server's URL under the public base", () => {
    expect(gh.urls["front door"]).toBe(base);
    expect(gh.urls.issuer).toBe(base);
    for (const name of SERVERS) expect(gh.urls[name], name).toBe(urlOf(name));
  });

  it("serves each server's RFC 9728 metadata through the door, naming the public URL and the issuer there", async () => {
    for (const name of SERVERS) {
      const res = await fetch(`${base}/.well-known/oauth-protected-resource/${name}/mcp`);
      expect(res.status, name).toBe(200);
      expect(await res.json()).toMatchObject({ resource: urlOf(name), authorization_servers: [base] });
    }
    const as = await fetch(`${base}/.well-known/oauth-authorization-server`);
    expect(as.status).toBe(200);
    const meta = (await as.json()) as { issuer: string; authorization_endpoint: string };
    expect(meta.issuer).toBe(base);
    expect(meta.authorization_endpoint).toBe(`${base}/authorize`);
  });

  it("lets alice sign in through the door, call tools on every server, and refuses her bob's (NA) order", async () => {
    for (const name of SERVERS) {
      const { client, provider } = await connectWithSignIn(urlOf(name), "alice");
      try {
        expect((await client.listTools()).tools.length, name).toBeGreaterThan(0);
        const claims = decodeJwt(provider.saved!.access_token);
        expect([claims.aud, claims.iss]).toEqual([urlOf(name), base]);
        if (name === "order-lookup") {
          const mine = (await client.callTool({
            name: "get_order",
            arguments: { order_id: EMEA_ORDER },
          })) as ToolResult;
          expect(mine.isError, textOf(mine)).toBe(false);
          const bobs = (await client.callTool({
            name: "get_order",
            arguments: { order_id: NA_ORDER },
          })) as ToolResult;
          expect(bobs.isError).toBe(true);
          expect(JSON.stringify(bobs)).not.toContain('SO-100200","customer');
        }
        if (name === "business") {
          // business exchanges alice's token for the other servers' public audiences and calls them there.
          const r = (await client.callTool({
            name: "account_health",
            arguments: { account: "nordlicht-logistik.de" },
          })) as ToolResult;
          expect(r.isError, textOf(r)).toBe(false);
          const f = r.structuredContent as Record<string, { status: string }>;
          expect([f.orders?.status, f.crm?.status, f.tickets?.status]).toEqual(["ok", "ok", "ok"]);
        }
      } finally {
        await client.close();
      }
    }
  }, 120_000);

  it("answers unknown routes 404 itself, without reaching any server", async () => {
    const token = mint("alice", "order-lookup");
    const before = (await audit()).length;
    for (const path of [
      "/mcp",
      "/nope/mcp",
      "/order-lookup/mcp/x",
      "/approvals/abc",
      "/order-lookup/healthz",
      "/",
    ]) {
      const res = await rawRequest(`${base}${path}`, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: callToolBody("get_order", { order_id: EMEA_ORDER }),
      });
      expect(res.status, path).toBe(404);
      // The door's answer, not a server's ("the MCP endpoint is …").
      expect(JSON.parse(res.body), path).toMatchObject({ error: "not_found" });
      expect(res.body).toContain("no such route");
    }
    expect((await audit()).length).toBe(before);
  });

  it("refuses a token minted for order-lookup on crm-read's route (audience), and crm-read audits it", async () => {
    const token = mint("alice", "order-lookup");
    const res = await rawRequest(urlOf("crm-read"), {
      headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
      body: callToolBody("search_companies", { query: "nordlicht" }),
    });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toContain(
      `resource_metadata="${base}/.well-known/oauth-protected-resource/crm-read/mcp"`,
    );
    const refusal = (await audit()).filter((e) => e.type === "auth.rejected").at(-1);
    expect(refusal?.detail).toContain("the access token was not issued for this server");
    expect(refusal?.server).toBe("crm-read");
  });

  it("keeps the servers' Host check through the door", async () => {
    const token = mint("alice", "order-lookup");
    const res = await rawRequest(urlOf("order-lookup"), {
      headers: {
        ...MCP_HEADERS,
        host: "evil.example.com",
        authorization: `Bearer ${token}`,
      },
      body: callToolBody("get_order", { order_id: EMEA_ORDER }),
    });
    expect(res.status).toBe(403);
  });

  it("cuts an oversized body at the door with 413, before any server reads it", async () => {
    const r = await rawSocket(
      doorPort,
      `POST /order-lookup/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n{"jsonrpc":`,
      5000,
    );
    expect(r.answer).toMatch(/^HTTP\/1\.1 413/);
    // HAProxy's own page, not a server's JSON-RPC error.
    expect(r.answer).not.toContain("jsonrpc");
  });

  it("cuts a slow request (headers trickling in) at the door with 408 within its timeout", async () => {
    const r = await rawSocket(doorPort, "POST /order-lookup/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n", 8000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeLessThan(5000);
    expect(r.closedAfterMs).toBeGreaterThanOrEqual(1400);
  });

  it("cuts a slow body (declared, never finished) at the door with 408 within its timeout", async () => {
    const r = await rawSocket(
      doorPort,
      'POST /order-lookup/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"jsonrpc":',
      8000,
    );
    expect(r.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(r.closedAfterMs).toBeLessThan(5000);
  });
});
