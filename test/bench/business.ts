/**
 * The business section of `pnpm bench` (issue 5): account_health with latency injected into every system,
 * parallel fan-out vs what a client that does not fan out would take. Target: the business server's p50
 * is at most 1.3× the p50 of the slowest single branch done alone.
 *
 * The whole business setup runs once (SQLite store): the HubSpot and Jira stand-ins with a latency fault,
 * order-lookup, crm-read and ticket-draft, and the business server in front of them. order-lookup and
 * ticket-draft read their data in-process (the orders database, the store), so each sits behind a delay
 * proxy (delay-proxy.ts) that holds every tool call for the same latency; each is started with the proxy's
 * URL as its public URL, so the tokens the business server exchanges for the proxy URL are for it.
 *
 * Scenarios, interleaved call by call (the order rotates) so that noise hits them alike:
 * - account_health through the business server, as alice;
 * - sequential: the same downstream tool calls made one after another by the bench itself, with tokens
 *   minted for each domain server (search_companies → get_company → search_customers →
 *   list_customer_orders → list_unpaid_invoices → list_ticket_drafts);
 * - each branch alone, as the business server runs it: CRM (search_companies → get_company), orders
 *   (search_customers → list_customer_orders ∥ list_unpaid_invoices), tickets (list_ticket_drafts).
 * The bench's own clients stay connected; the business server connects per downstream call, so its
 * handshakes are part of its number.
 */
import { randomBytes } from "node:crypto";
import { startHubSpotSandbox, startJiraSandbox } from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import {
  BUSINESS_ENTRY,
  CRM_READ_ENTRY,
  ORDER_LOOKUP_ENTRY,
  TICKET_DRAFT_ENTRY,
} from "../support/servers.ts";
import { fmt, percentile } from "./common.ts";
import { type DelayProxy, freePort, startDelayProxy } from "./delay-proxy.ts";

export interface BusinessBenchOptions {
  /** Measured calls per scenario. */
  calls: number;
  /** Unmeasured rounds first (token exchange, JWKS fetches, first compiles). */
  warmup: number;
  /** Latency injected into each system, per request to it. */
  latencyMs: number;
  /** Rate limits for the governed servers, high enough never to trip. */
  limits: Record<string, string>;
  /** Where to register teardown steps; the caller runs them (also on SIGINT). */
  cleanups: Array<() => Promise<unknown>>;
  progress(s: string): void;
  out(s: string): void;
}

const ACCOUNT = "nordlicht-logistik.de";
const TARGET_RATIO = 1.3;

interface Scenario {
  label: string;
  run(): Promise<void>;
  latencies: number[];
  errors: number;
  firstError?: string;
}

type Status = { status: string; reason: string | null };

async function tool<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await client.callTool({ name, arguments: args });
  if (r.isError || !r.structuredContent) {
    const text = (r.content as Array<{ text?: string }> | undefined)?.map((c) => c.text ?? "").join(" ");
    throw new Error(`${name}: ${text || "no structured result"}`);
  }
  return r.structuredContent as T;
}

/** A domain server behind a delay proxy: it believes the proxy's URL is its own. */
async function spawnBehindProxy(
  entry: string,
  env: Record<string, string>,
  latencyMs: number,
  cleanups: BusinessBenchOptions["cleanups"],
): Promise<{ server: SpawnedServer; proxy: DelayProxy }> {
  const proxy = await startDelayProxy(latencyMs);
  cleanups.push(() => proxy.close());
  const port = await freePort();
  const server = await spawnHttpServer(entry, {
    ...env,
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_PUBLIC_URL: proxy.url,
  });
  cleanups.push(() => server.stop());
  proxy.setTarget(port);
  return { server, proxy };
}

export async function benchBusiness(o: BusinessBenchOptions): Promise<void> {
  const started = performance.now();
  const { cleanups, progress, out } = o;
  progress("business: setting up (sandbox issuer, SQLite store, HubSpot and Jira stand-ins, four servers)");
  const env: TestEnvironment = await createTestEnvironment({ storeKind: "sqlite" });
  cleanups.push(() => env.close());
  const hubspot = await startHubSpotSandbox({
    port: 0,
    limits: { tenSecondly: 100_000, searchPerSecond: 100_000 },
  });
  cleanups.push(() => hubspot.close());
  const jira = await startJiraSandbox({ port: 0, limits: { perMinute: 100_000 } });
  cleanups.push(() => jira.close());
  hubspot.faults.set({ kind: "latency", ms: o.latencyMs });
  jira.faults.set({ kind: "latency", ms: o.latencyMs });

  const common = {
    ...env.env,
    ...o.limits,
    HUBSPOT_BASE_URL: hubspot.url,
    HUBSPOT_ACCESS_TOKEN: hubspot.token,
    JIRA_BASE_URL: jira.url,
    JIRA_EMAIL: jira.email,
    JIRA_API_TOKEN: jira.apiToken,
  };
  // allSettled: if one fails to start, the others have still registered their cleanup before we throw.
  const domainServers = await Promise.allSettled([
    spawnBehindProxy(ORDER_LOOKUP_ENTRY, common, o.latencyMs, cleanups),
    spawnHttpServer(CRM_READ_ENTRY, common).then((s) => {
      cleanups.push(() => s.stop());
      return s;
    }),
    spawnBehindProxy(TICKET_DRAFT_ENTRY, common, o.latencyMs, cleanups),
  ] as const);
  for (const r of domainServers) if (r.status === "rejected") throw r.reason;
  const [orders, crm, tickets] = domainServers.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    Awaited<ReturnType<typeof spawnBehindProxy>>,
    SpawnedServer,
    Awaited<ReturnType<typeof spawnBehindProxy>>,
  ];
  const ordersUrl = orders.server.url;
  const ticketsUrl = tickets.server.url;
  if (ordersUrl !== orders.proxy.url || ticketsUrl !== tickets.proxy.url) {
    throw new Error(`a proxied server did not take the proxy's URL as its own (${ordersUrl}, ${ticketsUrl})`);
  }

  const secret = randomBytes(24).toString("hex");
  const business = await spawnHttpServer(BUSINESS_ENTRY, {
    ...env.env,
    ...o.limits,
    BUSINESS_ORDER_LOOKUP_URL: ordersUrl,
    BUSINESS_CRM_READ_URL: crm.url,
    BUSINESS_TICKET_DRAFT_URL: ticketsUrl,
    BUSINESS_CLIENT_SECRET: secret,
    BUSINESS_DOWNSTREAM_TIMEOUT_MS: "8000",
  });
  cleanups.push(() => business.stop());
  env.issuer.registerExchangeClient("business", {
    secret,
    resource: business.url,
    targets: [ordersUrl, crm.url, ticketsUrl],
  });

  const connect = async (url: string) => {
    const client = await connectHttp(url, await env.mint("alice", { audience: url }));
    cleanups.push(() => client.close());
    return client;
  };
  const [viaBusiness, crmClient, ordersClient, ticketsClient] = await Promise.all([
    connect(business.url),
    connect(crm.url),
    connect(ordersUrl),
    connect(ticketsUrl),
  ]);

  // The branches as the business server runs them (see servers/business/src/account-health.ts).
  const crmBranch = async () => {
    const { companies } = await tool<{
      companies: Array<{ company_id: string; domain: string | null; additional_domains: string[] }>;
    }>(crmClient, "search_companies", { query: ACCOUNT, limit: 10 });
    const company = companies.find((c) => c.domain === ACCOUNT || c.additional_domains.includes(ACCOUNT));
    if (!company) throw new Error(`search_companies found no company for ${ACCOUNT}`);
    await tool(crmClient, "get_company", { company_id: company.company_id });
  };
  const ordersBranch = async (fanOut: boolean) => {
    const { customers } = await tool<{ customers: Array<{ customer_id: string; domain: string }> }>(
      ordersClient,
      "search_customers",
      { query: ACCOUNT, limit: 10 },
    );
    const customer = customers.find((c) => c.domain.trim().toLowerCase() === ACCOUNT) ?? customers[0];
    if (!customer) throw new Error(`search_customers found no customer for ${ACCOUNT}`);
    const args = { customer_id: customer.customer_id, limit: 50 };
    if (fanOut) {
      await Promise.all([
        tool(ordersClient, "list_customer_orders", args),
        tool(ordersClient, "list_unpaid_invoices", args),
      ]);
    } else {
      await tool(ordersClient, "list_customer_orders", args);
      await tool(ordersClient, "list_unpaid_invoices", args);
    }
  };
  const ticketsBranch = async () => {
    await tool(ticketsClient, "list_ticket_drafts", { status: "draft", limit: 50 });
  };

  const scenario = (label: string, run: () => Promise<void>): Scenario => ({
    label,
    run,
    latencies: [],
    errors: 0,
  });
  const parallel = scenario("account_health via business (parallel fan-out)", async () => {
    const r = await viaBusiness.callTool({ name: "account_health", arguments: { account: ACCOUNT } });
    if (r.isError || !r.structuredContent) {
      const text = (r.content as Array<{ text?: string }> | undefined)?.map((c) => c.text ?? "").join(" ");
      throw new Error(`account_health: ${text || "no structured result"}`);
    }
    const f = r.structuredContent as { crm: Status; orders: Status; tickets: Status };
    // A branch that timed out or failed would flatter the number: it must be a complete finding.
    const missing = (["crm", "orders", "tickets"] as const).filter((k) => f[k].status !== "ok");
    if (missing.length > 0) {
      throw new Error(
        `account_health: ${missing.map((k) => `${k} ${f[k].status} (${f[k].reason})`).join(", ")}`,
      );
    }
  });
  const sequential = scenario("sequential: the 6 downstream calls, one after another", async () => {
    await crmBranch();
    await ordersBranch(false);
    await ticketsBranch();
  });
  const branches = [
    scenario("CRM branch alone: search_companies → get_company", crmBranch),
    scenario("orders branch alone: search_customers → orders ∥ invoices", () => ordersBranch(true)),
    scenario("tickets branch alone: list_ticket_drafts", ticketsBranch),
  ];
  const scenarios = [parallel, sequential, ...branches];

  const before = {
    hubspot: hubspot.requestCount(),
    jira: jira.requestCount(),
    orders: orders.proxy.counts(),
    tickets: tickets.proxy.counts(),
  };
  const rounds = o.warmup + o.calls;
  progress(`business: ${o.warmup} warm-up + ${o.calls} measured rounds of ${scenarios.length} scenarios`);
  let firstMeasuredSeq = 0;
  for (let r = 0; r < rounds; r++) {
    const measured = r >= o.warmup;
    if (r === o.warmup) firstMeasuredSeq = (await lastAuditSeq(env)) + 1;
    // Rotate who goes first, so no scenario always follows the same one.
    const order = scenarios.map((_, i) => scenarios[(i + r) % scenarios.length]!);
    for (const s of order) {
      const t0 = performance.now();
      try {
        await s.run();
        if (measured) s.latencies.push(performance.now() - t0);
      } catch (err) {
        s.errors++;
        s.firstError ??= (err as Error).message;
        if (!measured) {
          throw new Error(
            `business bench: "${s.label}" failed during warm-up: ${(err as Error).message}` +
              `\n--- business server log tail ---\n${business.stderr().slice(-4096)}`,
          );
        }
      }
    }
  }
  const after = {
    hubspot: hubspot.requestCount(),
    jira: jira.requestCount(),
    orders: orders.proxy.counts(),
    tickets: tickets.proxy.counts(),
  };

  const inside = await serverSideTimes(env, firstMeasuredSeq);

  const stats = new Map(
    scenarios.map((s) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      return [s, { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }] as const;
    }),
  );
  const slowest = branches.reduce((a, b) => (stats.get(b)!.p50 > stats.get(a)!.p50 ? b : a));
  const p50 = (s: Scenario) => stats.get(s)!.p50;
  const elapsed = (performance.now() - started) / 1000;

  out("\n");
  out(
    `account_health ${ACCOUNT} as alice · ${o.latencyMs} ms injected per request into each system ` +
      `(HubSpot and Jira stand-ins; order-lookup and ticket-draft tool calls via a delay proxy) · ` +
      `${o.calls} calls per scenario, interleaved, after ${o.warmup} warm-up rounds · ${elapsed.toFixed(1)} s\n\n`,
  );
  const width = Math.max(...scenarios.map((s) => s.label.length));
  out(`| ${"scenario".padEnd(width)} | p50 ms | p99 ms |\n`);
  out(`|${"-".repeat(width + 2)}|-------:|-------:|\n`);
  for (const s of scenarios) {
    const st = stats.get(s)!;
    out(`| ${s.label.padEnd(width)} | ${fmt(st.p50, 1, 6)} | ${fmt(st.p99, 1, 6)} |\n`);
  }
  out("\n");
  const ratio = p50(parallel) / p50(slowest);
  out(
    `parallel/slowest branch (${slowest.label.split(" ")[0]}) ${ratio.toFixed(2)}× ` +
      `(${ratio <= TARGET_RATIO ? "meets" : "misses"} ≤ ${TARGET_RATIO}×) · ` +
      `parallel/sequential ${(p50(parallel) / p50(sequential)).toFixed(2)}×\n`,
  );
  const delayedOrders = after.orders.delayed - before.orders.delayed;
  const delayedTickets = after.tickets.delayed - before.tickets.delayed;
  out(
    `latency injected into: HubSpot ${after.hubspot - before.hubspot} requests, Jira ` +
      `${after.jira - before.jira}, order-lookup ${delayedOrders} tool calls ` +
      `(of ${after.orders.requests - before.orders.requests} requests through its proxy), ticket-draft ` +
      `${delayedTickets} tool calls (of ${after.tickets.requests - before.tickets.requests}) · p99 of ` +
      `${o.calls} calls is close to the maximum\n`,
  );
  out(
    `inside account_health (p50 ms, server-side, from the audit trail): business pipeline ` +
      `${fmt(inside.businessPipeline, 1, 0)}, of which its fan-out ${fmt(inside.fanout, 1, 0)}\n`,
  );
  out(
    "\nserver-side time per downstream tool call (p50 ms, audit latency_ms; crm-read's includes the " +
      "HubSpot latency, the proxied servers' excludes the proxy's delay):\n\n",
  );
  const toolWidth = Math.max(...inside.tools.map((t) => t.name.length));
  out(`| ${"tool".padEnd(toolWidth)} | via business | called alone |\n`);
  out(`|${"-".repeat(toolWidth + 2)}|-------------:|-------------:|\n`);
  for (const t of inside.tools) {
    out(`| ${t.name.padEnd(toolWidth)} | ${fmt(t.viaBusiness, 1, 12)} | ${fmt(t.alone, 1, 12)} |\n`);
  }
  for (const s of scenarios) {
    if (s.errors > 0) {
      out(
        `WARNING: "${s.label}" failed ${s.errors} of ${o.calls} measured calls (first: ${s.firstError}); ` +
          "its numbers leave those calls out\n",
      );
    }
  }
  out(
    `\nTarget: account_health p50 ≤ ${TARGET_RATIO}× the p50 of the slowest single branch done alone, with ` +
      `${o.latencyMs} ms injected latency in each system. A measurement, not a pass/fail test.\n`,
  );
}

async function lastAuditSeq(env: TestEnvironment): Promise<number> {
  const row = await env.store.db
    .selectFrom("audit_events")
    .select("seq")
    .orderBy("seq", "desc")
    .limit(1)
    .executeTakeFirst();
  return row?.seq ?? 0;
}

const DOWNSTREAM_TOOLS = [
  "crm-read/search_companies",
  "crm-read/get_company",
  "order-lookup/search_customers",
  "order-lookup/list_customer_orders",
  "order-lookup/list_unpaid_invoices",
  "ticket-draft/list_ticket_drafts",
];

/**
 * What the servers themselves measured (the audit's latency_ms, from a call's arrival in the pipeline to
 * its completion record) for the measured rounds: where the business server's time goes, and whether a
 * domain server is slower when called in a fan-out than alone. crm-read's numbers include the HubSpot
 * stand-in's latency; order-lookup's and ticket-draft's do not (their proxy holds a call before it arrives).
 */
async function serverSideTimes(env: TestEnvironment, fromSeq: number) {
  const events = await env.store.db
    .selectFrom("audit_events")
    .select(["server", "tool", "client_id", "latency_ms", "detail"])
    .where("seq", ">=", fromSeq)
    .where("type", "=", "tool.completed")
    .execute();
  const p50 = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const business = events.filter((e) => e.server === "business" && e.tool === "account_health");
  const fanouts = business.flatMap((e) => {
    const ms = (JSON.parse(e.detail) as { fanout?: { ms?: number } }).fanout?.ms;
    return typeof ms === "number" ? [ms] : [];
  });
  const downstream = (name: string, viaBusiness: boolean) =>
    events
      .filter((e) => `${e.server}/${e.tool}` === name && (e.client_id === "business") === viaBusiness)
      .map((e) => e.latency_ms ?? Number.NaN);
  return {
    businessPipeline: p50(business.map((e) => e.latency_ms ?? Number.NaN)),
    fanout: p50(fanouts),
    tools: DOWNSTREAM_TOOLS.map((name) => ({
      name,
      viaBusiness: p50(downstream(name, true)),
      alone: p50(downstream(name, false)),
    })),
  };
}
