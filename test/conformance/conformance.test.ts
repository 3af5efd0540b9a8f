import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BearerProxy,
  CONFORMANCE_MUST_PASS,
  CONFORMANCE_REQUIREMENTS,
  compareWithBaseline,
  createTestEnvironment,
  expectedFailuresFile,
  readExpectedFailures,
  type SpawnedServer,
  spawnHttpServer,
  startBearerProxy,
  type TestEnvironment,
} from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "packages", "cli", "src", "main.ts");
const ORDER_LOOKUP = join(ROOT, "servers", "order-lookup", "src", "main.ts");

const check = (id: string, status: string) => ({ id, status });

describe("the bearer proxy in front of a server", () => {
  let upstream: Server;
  let upstreamUrl: string;
  let proxy: BearerProxy;
  let seen: IncomingHttpHeaders[];
  let releaseStream: () => void;

  beforeAll(async () => {
    seen = [];
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url?.startsWith("/mcp/stream")) {
        // One SSE event now, the next only once the test has read the first through the proxy.
        res.writeHead(200, { "content-type": "text/event-stream", "x-upstream": "yes" });
        res.write("id: 1\ndata: first\n\n");
        releaseStream = () => res.end("id: 2\ndata: second\n\n");
        return;
      }
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString("utf8");
      });
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json", "x-upstream": "yes" });
        res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/mcp`;
    proxy = await startBearerProxy({ target: upstreamUrl, token: "proxy-token" });
  });

  afterAll(async () => {
    await proxy?.close();
    upstream?.closeAllConnections();
    await new Promise<void>((r) => upstream?.close(() => r()));
  });

  it("listens on loopback, on the target's path", () => {
    const url = new URL(proxy.url);
    expect(url.hostname).toBe("127.0.0.1");
    expect(url.pathname).toBe("/mcp");
    expect(url.port).not.toBe(new URL(upstreamUrl).port);
  });

  it("adds the bearer token, replacing any the client sent, and relays everything else unchanged", async () => {
    const res = await fetch(`${proxy.url}?x=1`, {
      method: "POST",
      headers: {
        authorization: "Bearer the-clients-own",
        "content-type": "application/json",
        "mcp-protocol-version": "2025-11-25",
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-upstream")).toBe("yes");
    expect(await res.json()).toEqual({
      method: "POST",
      url: "/mcp?x=1",
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    const headers = seen.at(-1)!;
    expect(headers.authorization).toBe("Bearer proxy-token");
    expect(headers["mcp-protocol-version"]).toBe("2025-11-25");
    // The Host the client sent reaches the server, whose own DNS-rebinding check then judges it.
    expect(headers.host).toBe(new URL(proxy.url).host);
  });

  it("streams SSE as it comes, rather than after the upstream response ends", async () => {
    const res = await fetch(`${proxy.url}/stream`, { headers: { accept: "text/event-stream" } });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("data: first\n\n")) {
      const { value, done } = await reader.read();
      expect(done, "the stream ended before its first event arrived").toBe(false);
      text += decoder.decode(value, { stream: true });
    }
    // The upstream has not finished: the second event is only sent now.
    expect(text).not.toContain("second");
    releaseStream();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe("id: 1\ndata: first\n\nid: 2\ndata: second\n\n");
  });

  it("answers 502 when nothing listens behind it", async () => {
    const dead = await startBearerProxy({ target: "http://127.0.0.1:9/mcp", token: "t" });
    try {
      const res = await fetch(dead.url, { method: "POST", body: "{}" });
      expect(res.status).toBe(502);
    } finally {
      await dead.close();
    }
  });
});

describe("expected-failures files", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "gatehouse-baseline-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it.each(CONFORMANCE_REQUIREMENTS)(
    "%s: every entry gives its reason, and the core is never excused",
    (set) => {
      const entries = readExpectedFailures(expectedFailuresFile(set));
      expect(entries.length).toBeGreaterThan(0);
      for (const e of entries) expect(e.reason.length, `line ${e.line}`).toBeGreaterThan(10);
      for (const core of CONFORMANCE_MUST_PASS[set]!)
        expect(entries.map((e) => e.scenario)).not.toContain(core);
    },
  );

  it("refuses an entry without a reason, naming its line", () => {
    const file = write("server:\n  - tools-call-image # needs the suite's tool\n  - tools-call-audio\n");
    expect(() => readExpectedFailures(file)).toThrow(/:3: expected .*# <reason>/);
  });

  it("refuses a whole-scenario entry together with one of its checks", () => {
    const file = write("server:\n  - caching # a\n  - caching:sep-2549-x # b\n");
    expect(() => readExpectedFailures(file)).toThrow(/redundant/);
  });

  it("judges a run: unexpected failures and warnings, stale entries, entries that never ran", () => {
    const baseline = readExpectedFailures(
      write(
        [
          "server:",
          "  - resources-list # not offered",
          "  - ping # listed but passes",
          "  - server-stateless:needs-tool # diagnostic tool",
          "  - server-stateless:passes-now # stale",
          "  - server-stateless:skipped # tolerated when skipped",
          "  - no-such-scenario # never runs",
          "",
        ].join("\n"),
      ),
    );
    const verdict = compareWithBaseline(
      {
        "resources-list": [check("resources-list", "FAILURE")],
        ping: [check("ping", "SUCCESS")],
        "server-stateless": [
          check("needs-tool", "FAILURE"),
          check("passes-now", "SUCCESS"),
          check("skipped", "SKIPPED"),
          // A repeated id counts as its worst occurrence.
          check("repeated", "SUCCESS"),
          check("repeated", "FAILURE"),
        ],
        "tools-list": [check("tools-list", "SUCCESS"), check("a-should", "WARNING")],
      },
      baseline,
    );
    expect(verdict).toEqual({
      unexpected: ["server-stateless:repeated", "tools-list:a-should"],
      stale: ["ping", "server-stateless:passes-now"],
      notRun: ["no-such-scenario"],
      expected: ["resources-list", "server-stateless:needs-tool"],
    });
  });
});

describe("gatehouse conformance <server>", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;

  const gatehouse = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, ...args],
        {
          cwd: ROOT,
          timeout: 240_000,
          maxBuffer: 16 * 1024 * 1024,
          // The CLI mints with the keys in the data directory: the same keys this test's issuer signs with.
          env: { ...process.env, GATEHOUSE_DATA_DIR: env.dataDir, GATEHOUSE_ISSUER: env.issuer.url },
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
      );
    });

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    server = await spawnHttpServer(ORDER_LOOKUP, {
      ...env.env,
      GATEHOUSE_RATE_LIMIT_USER: "10000/60s",
      GATEHOUSE_RATE_LIMIT_TENANT: "10000/60s",
      GATEHOUSE_RATE_LIMIT_TOOL: "10000/60s",
    });
  });

  afterAll(async () => {
    await server?.stop();
    await env?.close();
  });

  it("runs both requirement sets as alice through the proxy and passes against the expected failures", async () => {
    const r = await gatehouse(["conformance", "order-lookup", "--audience", server.url]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr).toContain("as alice, through a bearer-adding proxy on http://127.0.0.1:");
    for (const set of CONFORMANCE_REQUIREMENTS) expect(r.stdout).toContain(`${set}: PASS`);
    expect(r.stdout).toContain("=== SUMMARY ===");
    expect(r.stdout).toContain("✓ tools-list");
  });

  it("leaves the server refusing requests without a token", async () => {
    const res = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(res.status).toBe(401);
  });

  it("exits 1 naming the unexpected failures when the server refuses the proxy's token", async () => {
    // The same server under another name: the token is minted for an audience it does not answer to.
    const elsewhere = server.url.replace("127.0.0.1", "localhost");
    const r = await gatehouse([
      "conformance",
      "order-lookup",
      "--audience",
      elsewhere,
      "--requirements",
      "2026-07-28",
    ]);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stdout).toContain("2026-07-28: UNEXPECTED failures");
    expect(r.stdout).toMatch(/tools-list:\S+ — FAILURE/);
    expect(r.stdout).toContain("2026-07-28: FAIL");
    expect(readFileSync(expectedFailuresFile("2026-07-28"), "utf8")).not.toMatch(/^\s+- tools-list\b/m);
  });
});
