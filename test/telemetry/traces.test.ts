import { randomBytes } from "node:crypto";
import {
  type RunningHubSpot,
  type RunningJira,
  startHubSpotSandbox,
  startJiraSandbox,
} from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  standInEnv,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ToolResult, textOf } from "../support/results.ts";
import {
  BUSINESS_ENTRY,
  CRM_READ_ENTRY,
  ORDER_LOOKUP_ENTRY,
  RELAXED_LIMITS,
  TICKET_DRAFT_ENTRY,
} from "../support/servers.ts";
import { type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.ts";

const ACCOUNT = "nordlicht-logistik.de";
const SERVER_KIND = 2;
const CLIENT_KIND = 3;

describe("traces: one business call is one trace across every server, with no arguments or people in it", () => {
  let env: TestEnvironment;
  let hubspot: RunningHubSpot;
  let jira: RunningJira;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let servers: SpawnedServer[] = [];
  let business: SpawnedServer;
  let alice: Client;
  let aliceToken: string;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    hubspot = await startHubSpotSandbox({
      port: 0,
      limits: { tenSecondly: 100_000, searchPerSecond: 100_000 },
    });
    jira = await startJiraSandbox({ port: 0 });
    receiver = await startOtlpReceiver();
    // The standard variables only: the SDK finds the receiver, protocol and export cadence from them.
    const otel = {
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      OTEL_METRIC_EXPORT_INTERVAL: "300",
    };
    const common = { ...env.env, ...RELAXED_LIMITS, ...standInEnv({ hubspot, jira }), ...otel };
    const [orders, crm, tickets] = await Promise.all(
      [ORDER_LOOKUP_ENTRY, CRM_READ_ENTRY, TICKET_DRAFT_ENTRY].map((e) => spawnHttpServer(e, common)),
    );
    const secret = randomBytes(24).toString("hex");
    business = await spawnHttpServer(BUSINESS_ENTRY, {
      ...common,
      BUSINESS_ORDER_LOOKUP_URL: orders!.url,
      BUSINESS_CRM_READ_URL: crm!.url,
      BUSINESS_TICKET_DRAFT_URL: tickets!.url,
      BUSINESS_CLIENT_SECRET: secret,
    });
    servers = [orders!, crm!, tickets!, business];
    env.issuer.registerExchangeClient("business", {
      secret,
      resource: business.url,
      targets: [orders!.url, crm!.url, tickets!.url],
    });
    aliceToken = await env.mint("alice", { audience: business.url });
    alice = await connectHttp(business.url, aliceToken);
  }, 60_000);

  afterAll(async () => {
    await alice?.close();
    await Promise.all(servers.map((s) => s.stop()));
    await hubspot?.close();
    await jira?.close();
    await receiver?.close();
    await env?.close();
  });

  const spansOf = async (traceId: string, until: (spans: ReceivedSpan[]) => boolean) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      if (until(spans)) return spans;
      if (Date.now() > deadline) return spans;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it("joins business, crm-read, order-lookup and ticket-draft under the caller's traceparent, with the audit trail's ids and a visible HubSpot retry", async () => {
    // HubSpot answers the first request with a 500: the retry shows as a second attempt span.
    hubspot.faults.set({ kind: "status", status: 500, times: 1 });
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const r = (await alice.callTool({
      name: "account_health",
      arguments: { account: ACCOUNT },
      _meta: { traceparent: `00-${traceId}-${callerSpan}-01` },
    })) as ToolResult;
    expect(r.isError, textOf(r)).toBe(false);

    const calls = (s: ReceivedSpan[]) => s.filter((x) => x.name === "gatehouse.call");
    const spans = await spansOf(
      traceId,
      (s) =>
        new Set(calls(s).map((x) => x.service)).size === 4 &&
        s.some((x) => x.service === "business" && x.name === "gatehouse.stage.handler"),
    );
    // One trace: every server's call span carries the caller's trace id.
    expect(new Set(calls(spans).map((s) => s.service))).toEqual(
      new Set(["business", "crm-read", "order-lookup", "ticket-draft"]),
    );

    // The business call span is the caller's child and is exactly the span its audit events name.
    const events = await env.audit.byCorrelation(String(r._meta?.["io.gatehouse/correlation-id"]));
    const businessEvent = events.find((e) => e.server === "business")!;
    const businessCall = calls(spans).find((s) => s.service === "business")!;
    expect(businessCall).toMatchObject({ parentSpanId: callerSpan, kind: SERVER_KIND });
    expect(businessCall.spanId).toBe(businessEvent.span_id);
    expect(businessEvent.trace_id).toBe(traceId);
    expect(businessCall.attributes).toMatchObject({
      "gatehouse.server": "business",
      "gatehouse.tool": "account_health",
      "gatehouse.tenant": "emea",
      "gatehouse.outcome": "completed",
      "gatehouse.decision": "allow",
    });

    // Every downstream call span is a child of business's call span, and is the span its own audit events name.
    for (const down of calls(spans).filter((s) => s.service !== "business")) {
      expect(down.parentSpanId).toBe(businessCall.spanId);
      const audited = events.filter((e) => e.server === down.service).map((e) => e.span_id);
      expect(audited).toContain(down.spanId);
    }

    // Stages are children of their call; business's downstream calls are client spans under its handler.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const stages = spans.filter((s) => s.name.startsWith("gatehouse.stage."));
    for (const st of stages) expect(byId.get(st.parentSpanId!)?.name).toBe("gatehouse.call");
    const businessStages = stages.filter((s) => s.parentSpanId === businessCall.spanId).map((s) => s.name);
    for (const name of ["audit", "input", "kill_switch", "rate_limit", "policy", "handler", "egress"])
      expect(businessStages).toContain(`gatehouse.stage.${name}`);
    const handler = stages.find((s) => s.service === "business" && s.name === "gatehouse.stage.handler")!;
    const clients = spans.filter((s) => s.service === "business" && s.kind === CLIENT_KIND);
    expect(clients.length).toBeGreaterThanOrEqual(3);
    for (const c of clients) {
      expect(c.parentSpanId).toBe(handler.spanId);
      expect(c.name).toBe(`tools/call ${c.attributes["gen_ai.tool.name"]}`);
      expect(c.attributes["gatehouse.downstream.outcome"]).toBe("ok");
    }

    // crm-read's HubSpot call: an upstream span under its handler, with the failed first attempt and the retry.
    const attempts = spans.filter((s) => s.service === "crm-read" && s.name === "hubspot attempt");
    const first = attempts.find((a) => a.attributes["http.response.status_code"] === 500);
    expect(first?.attributes).toMatchObject({
      "gatehouse.upstream.attempt": 1,
      "gatehouse.upstream.retry": false,
    });
    const retry = attempts.find(
      (a) => a.parentSpanId === first?.parentSpanId && a.attributes["gatehouse.upstream.attempt"] === 2,
    );
    expect(retry?.attributes).toMatchObject({
      "gatehouse.upstream.retry": true,
      "http.response.status_code": 200,
    });
    const upstreamCall = byId.get(first!.parentSpanId!)!;
    expect(upstreamCall.attributes).toMatchObject({
      "gatehouse.upstream.system": "hubspot",
      "gatehouse.upstream.attempts": 2,
      "server.address": "127.0.0.1",
    });
    expect(byId.get(upstreamCall.parentSpanId!)?.name).toBe("gatehouse.stage.handler");
  });

  it("exports no argument, person, token or result value, in spans or metrics", async () => {
    const r = (await alice.callTool({
      name: "account_health",
      arguments: { account: ACCOUNT },
    })) as ToolResult;
    expect(r.isError, textOf(r)).toBe(false);
    // Wait for both signals of at least this call to arrive.
    const deadline = Date.now() + 10_000;
    while (
      Date.now() < deadline &&
      !(
        receiver.metricNames.has("gatehouse.calls") && receiver.metricNames.has("gatehouse.upstream.attempts")
      )
    )
      await new Promise((res) => setTimeout(res, 100));
    for (const name of ["gatehouse.calls", "gatehouse.call.duration", "gatehouse.audit.append.duration"])
      expect(receiver.metricNames.has(name), name).toBe(true);

    const exported = receiver.rawText();
    const finding = r.structuredContent as { account: { company_id: string; customer_id: string } };
    const forbidden = [
      ACCOUNT,
      "nordlicht",
      "alice",
      aliceToken,
      aliceToken.split(".")[1]!,
      finding.account.customer_id,
      String(r._meta?.["io.gatehouse/correlation-id"]),
    ];
    for (const value of forbidden)
      expect(exported.includes(value), `exported payload contains ${value}`).toBe(false);
    expect(exported).not.toMatch(/[\w.+-]+@[\w-]+\.[a-z]{2,}/i);
    // Only Gatehouse's attribute names and the semantic conventions' ones appear on spans.
    const keys = new Set(receiver.spans.flatMap((s) => Object.keys(s.attributes)));
    for (const k of keys)
      expect(k, k).toMatch(
        /^(gatehouse\.|mcp\.method\.name$|gen_ai\.tool\.name$|server\.|http\.response\.status_code$|error\.type$)/,
      );
  });
});
