import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ToolResult } from "../support/results.ts";
import { EMEA_ORDER, NA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const present = existsSync(PROMETHEUS);
// CI installs Prometheus (see the workflow): missing there is a failure, not a skip.
if (!present && process.env.CI)
  throw new Error(`${PROMETHEUS} is missing; CI must install Debian's prometheus`);
if (!present) process.stderr.write(`skipping the Prometheus suite: ${PROMETHEUS} is not installed\n`);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

type Sample = { metric: Record<string, string>; value: [number, string] };

describe.skipIf(!present)(
  "metrics: a real Prometheus scrapes a server's calls, denials by stage and rate-limit refusals",
  () => {
    let env: TestEnvironment;
    let server: SpawnedServer;
    let client: Client;
    let prometheus: ReturnType<typeof spawn>;
    let promUrl: string;
    let dir: string;
    let prometheusLog = "";

    beforeAll(async () => {
      env = await createTestEnvironment({ storeKind: "sqlite" });
      const metricsPort = await freePort();
      server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, {
        ...env.env,
        ...RELAXED_LIMITS,
        // Three calls per user a minute: the fourth is refused by the rate limiter.
        GATEHOUSE_RATE_LIMIT_USER: "3/60s",
        OTEL_METRICS_EXPORTER: "prometheus",
        OTEL_EXPORTER_PROMETHEUS_HOST: "127.0.0.1",
        OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
      });
      dir = mkdtempSync(join(tmpdir(), "gatehouse-prometheus-"));
      writeFileSync(
        join(dir, "prometheus.yml"),
        [
          "global:",
          "  scrape_interval: 1s",
          "scrape_configs:",
          "  - job_name: gatehouse",
          "    static_configs:",
          `      - targets: ["127.0.0.1:${metricsPort}"]`,
          "",
        ].join("\n"),
      );
      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      prometheus = spawn(
        PROMETHEUS,
        [
          `--config.file=${join(dir, "prometheus.yml")}`,
          `--storage.tsdb.path=${join(dir, "data")}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      prometheus.stderr!.on("data", (c: Buffer) => {
        prometheusLog = (prometheusLog + c.toString()).slice(-8000);
      });
      client = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
    }, 30_000);

    afterAll(async () => {
      await client?.close();
      await server?.stop();
      if (prometheus && prometheus.exitCode === null) {
        prometheus.kill("SIGTERM");
        await new Promise((r) => prometheus.once("exit", r));
      }
      await env?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const query = async (q: string): Promise<Sample[]> => {
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`).catch(
        () => undefined,
      );
      if (!res?.ok) return [];
      const body = (await res.json()) as { data?: { result?: Sample[] } };
      return body.data?.result ?? [];
    };

    /** Polls Prometheus until `q` returns samples `ok` accepts (scrapes come every second). */
    const eventually = async (q: string, ok: (s: Sample[]) => boolean): Promise<Sample[]> => {
      const deadline = Date.now() + 20_000;
      let last: Sample[] = [];
      while (Date.now() < deadline) {
        last = await query(q);
        if (ok(last)) return last;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(
        `Prometheus never answered ${q} as expected; last: ${JSON.stringify(last)}\n${prometheusLog}`,
      );
    };

    it("counts completed and denied calls, denials by the stage that refused them, and rate-limit refusals per tenant", async () => {
      const call = async (order: string) =>
        (await client.callTool({ name: "get_order", arguments: { order_id: order } })) as ToolResult;
      expect((await call(EMEA_ORDER)).isError).toBe(false);
      const denied = await call(NA_ORDER);
      expect(denied.isError).toBe(true);
      const deniedStage = (denied._meta?.["io.gatehouse/outcome"] as { stage?: string } | undefined)?.stage;
      expect(deniedStage).toBeDefined();
      expect((await call(EMEA_ORDER)).isError).toBe(false);
      const limited = await call(EMEA_ORDER);
      expect(limited._meta?.["io.gatehouse/outcome"]).toMatchObject({
        status: "denied",
        stage: "rate_limit",
      });

      const calls = await eventually(
        'gatehouse_calls_total{gatehouse_server="order-lookup",gatehouse_tool="get_order"}',
        (s) => s.length >= 2 && s.reduce((n, x) => n + Number(x.value[1]), 0) >= 4,
      );
      const byOutcome = Object.fromEntries(
        calls.map((s) => [s.metric.gatehouse_outcome, Number(s.value[1])]),
      );
      expect(byOutcome).toEqual({ completed: 2, denied: 2 });
      expect(calls[0]!.metric.job).toBe("gatehouse");

      const denials = await eventually("gatehouse_denials_total", (s) => s.length >= 2);
      expect(Object.fromEntries(denials.map((s) => [s.metric.gatehouse_stage, Number(s.value[1])]))).toEqual({
        [deniedStage!]: 1,
        rate_limit: 1,
      });

      const refusals = await eventually("gatehouse_rate_limit_refusals_total", (s) => s.length >= 1);
      expect(refusals.map((s) => [s.metric.gatehouse_tenant, s.value[1]])).toEqual([["emea", "1"]]);

      // Latency histograms arrive as Prometheus histograms (in seconds: the exporter adds no unit suffix).
      const buckets = await eventually(
        'gatehouse_call_duration_count{gatehouse_tool="get_order"}',
        (s) => s.length >= 1,
      );
      expect(buckets.reduce((n, s) => n + Number(s.value[1]), 0)).toBe(4);
      const appends = await eventually("gatehouse_audit_append_duration_count", (s) => s.length >= 1);
      expect(Number(appends[0]!.value[1])).toBe(8);
      // Labels are the server, tool, outcome, stage and tenant: nobody's identity.
      const labels = new Set([...calls, ...denials, ...refusals].flatMap((s) => Object.keys(s.metric)));
      expect([...labels].filter((l) => /user|token|order|arg/i.test(l))).toEqual([]);
    });
  },
);
