import { type RunningJira, startJiraSandbox } from "@gatehouse/sandbox";
import {
  connectHttp,
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { outcomeEvent, textOf } from "../support/results.ts";
import { TICKET_DRAFT_ENTRY } from "../support/servers.ts";
import { ticketServerEnv } from "../support/tickets.ts";

/** ticket-draft's Jira lookups: when Jira answers garbage, the fault is Jira's, not the caller's. */
describe("ticket-draft when Jira answers something unreadable", () => {
  let env: TestEnvironment;
  let jira: RunningJira;
  let server: SpawnedServer;
  let alice: Client;

  beforeAll(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
    jira = await startJiraSandbox({ port: 0 });
    server = await spawnHttpServer(
      TICKET_DRAFT_ENTRY,
      ticketServerEnv(env, jira, { JIRA_TIMEOUT_MS: "1000", JIRA_RETRY_BUDGET_MS: "3000" }),
    );
    alice = await connectHttp(server.url, await env.mint("alice", { audience: server.url }));
  });

  afterEach(() => jira?.faults.clear());

  afterAll(async () => {
    await alice?.close();
    await server?.stop();
    await jira?.close();
    await env?.close();
  });

  const createDraft = (extra: Record<string, unknown> = {}) =>
    alice.callTool({
      name: "create_ticket_draft",
      arguments: {
        project: "SUP",
        issue_type: "Incident",
        summary: "Late delivery",
        description: "Order SO-100001 is late.",
        priority: "High",
        order_id: "SO-100001",
        ...extra,
      },
    });

  it("reports a truncated project answer as Jira's fault, not a bad issue type", async () => {
    jira.faults.set({ kind: "malformed", path: "/rest/api/3/project", method: "GET" });
    const r = await createDraft();
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^Jira answered something unreadable.*; try again/);
    expect(textOf(r)).not.toMatch(/issue type|does not exist|use one of/);
    const event = await outcomeEvent(env.audit, r);
    expect(event.type).toBe("tool.failed");
    expect(event.detail.upstream).toMatchObject({ system: "jira", operation: "project.get", status: 200 });

    // Once Jira answers properly, the same draft goes through, and a real bad issue type is the caller's.
    jira.faults.clear();
    const healed = await createDraft();
    expect(healed.isError, textOf(healed)).toBe(false);
    const wrongType = await createDraft({ issue_type: "Epic Saga" });
    expect(wrongType.isError).toBe(true);
    expect(textOf(wrongType)).toMatch(/^issue type "Epic Saga" does not exist in SUP; use one of /);
  });

  it("reports a truncated issue answer as Jira's fault, not as an issue that exists", async () => {
    jira.faults.set({ kind: "malformed", path: "/rest/api/3/issue/SUP-1", method: "GET" });
    const r = await createDraft({ comment_on: "SUP-1" });
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/^Jira answered something unreadable.*; try again/);
    expect((await outcomeEvent(env.audit, r)).detail.upstream).toMatchObject({
      system: "jira",
      operation: "issue.get",
    });

    jira.faults.clear();
    const healed = await createDraft({ comment_on: "SUP-1" });
    expect(healed.isError, textOf(healed)).toBe(false);
    const missing = await createDraft({ comment_on: "SUP-99999" });
    expect(textOf(missing)).toBe("issue SUP-99999 does not exist");
  });
});
