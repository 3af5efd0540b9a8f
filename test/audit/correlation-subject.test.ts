import { randomUUID } from "node:crypto";
import { type RunningJira, startJiraSandbox } from "@gatehouse/sandbox";
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
import { runCliAsync } from "../support/cli.ts";
import { textOf } from "../support/results.ts";
import { EMEA_ORDER, ORDER_LOOKUP_ENTRY, RELAXED_LIMITS, TICKET_DRAFT_ENTRY } from "../support/servers.ts";

// A client hides a draft's history from `gatehouse audit trace <draft-id>` by sending that draft id as
// its own correlation id on an unrelated call: trace used to show the correlation matches only.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("a client's correlation id cannot stand in for a subject id", () => {
  let env: TestEnvironment;
  let jira: RunningJira;
  let drafts: SpawnedServer;
  let orders: SpawnedServer;
  let aliceDrafts: Client;
  let aliceOrders: Client;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    jira = await startJiraSandbox({ port: 0 });
    const serverEnv = { ...env.env, ...RELAXED_LIMITS, ...standInEnv({ jira }) };
    [drafts, orders] = await Promise.all([
      spawnHttpServer(TICKET_DRAFT_ENTRY, serverEnv),
      spawnHttpServer(ORDER_LOOKUP_ENTRY, serverEnv),
    ]);
    aliceDrafts = await connectHttp(drafts.url, await env.mint("alice", { audience: drafts.url }));
    aliceOrders = await connectHttp(orders.url, await env.mint("alice", { audience: orders.url }));
    cliEnv = { GATEHOUSE_DATA_DIR: env.dataDir, DATABASE_URL: "" };
  });

  afterAll(async () => {
    await Promise.all([aliceDrafts?.close(), aliceOrders?.close()]);
    await Promise.all([drafts?.stop(), orders?.stop()]);
    await jira?.close();
    await env?.close();
  });

  const createDraft = async (summary: string): Promise<string> => {
    const r = await aliceDrafts.callTool({
      name: "create_ticket_draft",
      arguments: {
        project: "SUP",
        issue_type: "Incident",
        summary,
        description: `Order ${EMEA_ORDER} is late.`,
        order_id: EMEA_ORDER,
      },
    });
    expect(r.isError, textOf(r)).toBe(false);
    return (r.structuredContent as { draft: { draft_id: string } }).draft.draft_id;
  };

  it("ignores a draft id sent as correlation id, and audit trace still shows the draft's creation", async () => {
    const draftId = await createDraft("Late delivery, hidden?");
    const unrelated = await aliceOrders.callTool({
      name: "get_order",
      arguments: { order_id: EMEA_ORDER },
      _meta: { "io.gatehouse/correlation-id": draftId },
    });
    expect(unrelated.isError, textOf(unrelated)).toBe(false);
    const given = String(unrelated._meta?.["io.gatehouse/correlation-id"]);
    expect(given).toMatch(UUID);
    expect(await env.audit.byCorrelation(draftId)).toEqual([]);
    expect((await env.audit.byCorrelation(given)).map((e) => e.type)).toEqual([
      "tool.requested",
      "tool.completed",
    ]);

    const trace = await runCliAsync(["audit", "trace", draftId], cliEnv);
    expect(trace.status, trace.stderr).toBe(0);
    expect(trace.stdout).toContain(`subject ${draftId}:`);
    expect(trace.stdout).toMatch(/tool\.completed\s+ticket-draft\s+create_ticket_draft\s+alice@emea\s+ok/);
    expect(trace.stdout).not.toContain("get_order");
  });

  it("keeps a UUID correlation id a client continues a request with", async () => {
    const correlationId = randomUUID();
    const r = await aliceOrders.callTool({
      name: "get_order",
      arguments: { order_id: EMEA_ORDER },
      _meta: { "io.gatehouse/correlation-id": correlationId.toUpperCase() },
    });
    expect(r._meta?.["io.gatehouse/correlation-id"]).toBe(correlationId);
    expect(await env.audit.byCorrelation(correlationId)).toHaveLength(2);
  });

  it("shows a draft's life and the events carrying its id as correlation id together", async () => {
    // Events stored under a draft id as correlation id (written before ids were checked, or by any
    // other writer): trace shows them beside the draft's own events instead of in their place.
    const draftId = await createDraft("Late delivery, shadowed");
    await env.audit.append({
      type: "tool.completed",
      server: "order-lookup",
      tool: "list_late_orders",
      outcome: "ok",
      correlationId: draftId,
      traceId: "c".repeat(32),
      spanId: "d".repeat(16),
    });
    const trace = await runCliAsync(["audit", "trace", draftId], cliEnv);
    expect(trace.status, trace.stderr).toBe(0);
    expect(trace.stdout).toContain(`subject ${draftId}: 2 events`);
    expect(trace.stdout).toMatch(/tool\.completed\s+ticket-draft\s+create_ticket_draft/);
    expect(trace.stdout).toContain("list_late_orders");
  });
});
