import { verifyAuditChain } from "@gatehouse/governance";
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
import { storeMatrix } from "../setup/stores.ts";
import { textOf } from "../support/results.ts";
import { TICKET_DRAFT_ENTRY, TICKET_SEND_ENTRY } from "../support/servers.ts";
import {
  createApprovalDesk,
  inBatches,
  type SendResult,
  sleep,
  ticketServerEnv,
} from "../support/tickets.ts";

/**
 * The write path tried the way an attacker (or an unlucky network) would, many rounds each, on both stores:
 * what reaches Jira is exactly what a second person approved, at most once, whatever the timing.
 * Rounds run in concurrent batches, so every batch also races the rounds against each other.
 */
const ROUNDS = Number(process.env.GATEHOUSE_RACE_ROUNDS ?? 200);
const BATCH = 20;
// The impatient ticket-send gives Jira 250 ms per attempt and waits 3 s for an abandoned request to land;
// the other one has the default timeout (so a loaded machine cannot fail a healthy create) and 1.5 s.
const IMPATIENT_TIMEOUT_MS = 250;
const IMPATIENT_GRACE_MS = 3000;

describe.each(storeMatrix())("the write path under races and faults ($storeKind store)", (store) => {
  let env: TestEnvironment;
  let jira: RunningJira;
  let draftServer: SpawnedServer;
  let sendServer: SpawnedServer;
  let impatientServer: SpawnedServer;
  let alice: { draft: Client; send: Client; send2: Client; impatient: Client };
  let desk: ReturnType<typeof createApprovalDesk>;

  beforeAll(async () => {
    env = await createTestEnvironment(store);
    jira = await startJiraSandbox({ port: 0, limits: { perMinute: 1_000_000 } });
    const serverEnv = ticketServerEnv(env, jira, {
      GATEHOUSE_RATE_LIMIT_USER: "1000000/60s",
      GATEHOUSE_RATE_LIMIT_TENANT: "1000000/60s",
      GATEHOUSE_RATE_LIMIT_TOOL: "1000000/60s",
      JIRA_RETRY_BUDGET_MS: "1000",
      // Hundreds of injected failures must not open the circuit: each scenario is about one send's fate.
      JIRA_BREAKER_THRESHOLD: "1000000",
      GATEHOUSE_REQUEST_TIMEOUT_MS: "5000",
      TICKETS_SEND_LANDING_GRACE_MS: "1500",
      LOG_LEVEL: "warn",
    });
    [draftServer, sendServer, impatientServer] = await Promise.all([
      spawnHttpServer(TICKET_DRAFT_ENTRY, serverEnv),
      spawnHttpServer(TICKET_SEND_ENTRY, serverEnv),
      spawnHttpServer(TICKET_SEND_ENTRY, {
        ...serverEnv,
        JIRA_TIMEOUT_MS: String(IMPATIENT_TIMEOUT_MS),
        TICKETS_SEND_LANDING_GRACE_MS: String(IMPATIENT_GRACE_MS),
      }),
    ]);
    alice = {
      draft: await connectHttp(draftServer.url, await env.mint("alice", { audience: draftServer.url })),
      send: await connectHttp(sendServer.url, await env.mint("alice", { audience: sendServer.url })),
      send2: await connectHttp(sendServer.url, await env.mint("alice", { audience: sendServer.url })),
      impatient: await connectHttp(
        impatientServer.url,
        await env.mint("alice", { audience: impatientServer.url }),
      ),
    };
    desk = createApprovalDesk(env, sendServer);
  }, 180_000);

  afterEach(() => jira?.faults.clear());

  afterAll(async () => {
    await Promise.all([
      alice?.draft.close(),
      alice?.send.close(),
      alice?.send2.close(),
      alice?.impatient.close(),
    ]);
    await Promise.all([draftServer?.stop(), sendServer?.stop(), impatientServer?.stop()]);
    await jira?.close();
    await env?.close();
  });

  let n = 0;
  const newDraft = async (summary = `Race ${++n}`) => {
    const r = await alice.draft.callTool({
      name: "create_ticket_draft",
      arguments: { project: "SUP", issue_type: "Task", summary, description: "Approved text." },
    });
    expect(r.isError, textOf(r)).toBe(false);
    return (r.structuredContent as { draft: { draft_id: string; content_hash: string } }).draft;
  };
  const approved = async (summary?: string) => {
    const d = await newDraft(summary);
    const a = await desk.decide("carol", d.draft_id, "approve");
    expect(a.status, a.body.error_description).toBe(200);
    return { ...d, approvalId: a.body.approval_id! };
  };
  const send = (draftId: string, client = alice.send) =>
    client.callTool({ name: "send_ticket", arguments: { draft_id: draftId } });
  const issuesFor = (draftId: string) =>
    jira.issues().filter((i) => i.labels.includes(`gatehouse-${draftId}`));
  /** Retries a send as an agent told to "call again in N s" would, until it is not told to wait. */
  const sendUntilSettled = async (draftId: string, client = alice.send) => {
    for (let i = 0; i < 60; i++) {
      const r = await send(draftId, client);
      if (!r.isError || !/call send_ticket again in \d+ s/.test(textOf(r))) return r;
      await sleep(200);
    }
    throw new Error(`send of ${draftId} never settled`);
  };

  it(`files one issue when a slow create times out and the agent retries at once (${ROUNDS} rounds)`, async () => {
    // Every create takes 600 ms at Jira and is applied though the client gave up after 250 ms: the retry
    // must wait out the landing window, then find that issue instead of filing another.
    jira.faults.set({ kind: "latency", ms: 600, path: "/rest/api/3/issue", method: "POST" });
    await inBatches(ROUNDS, BATCH, async () => {
      const d = await approved();
      const first = await send(d.draft_id, alice.impatient);
      expect(first.isError).toBe(true);
      expect(textOf(first)).toMatch(/did not answer in time.*Jira may still file it until/);
      const retry = await send(d.draft_id, alice.impatient);
      expect(retry.isError).toBe(true);
      expect(textOf(retry)).toMatch(/may still be filed by Jira until .*call send_ticket again in \d+ s/);
      const settled = await sendUntilSettled(d.draft_id, alice.impatient);
      expect(settled.isError, textOf(settled)).toBe(false);
      const issues = issuesFor(d.draft_id);
      expect(issues).toHaveLength(1);
      expect(settled.structuredContent as SendResult).toMatchObject({
        jira_key: issues[0]!.key,
        replayed: true,
      });
    });
    await sleep(800); // anything still in flight lands, so a late duplicate would be counted
    for (const i of jira.issues().filter((x) => x.summary.startsWith("Race ")))
      expect(jira.issues().filter((x) => x.labels.join() === i.labels.join())).toHaveLength(1);
  }, 600_000);

  it(`files one issue when a create hangs and the agent retries during the hang (${ROUNDS} rounds)`, async () => {
    const batches = Math.ceil(ROUNDS / BATCH);
    for (let b = 0; b < batches; b++) {
      const drafts = await Promise.all(Array.from({ length: BATCH }, () => approved()));
      // Jira accepts each create and never answers; a request still held when the hang ends is applied,
      // so this proves an abandoned request is cut at the socket (the old code's was applied later).
      jira.faults.set({ kind: "timeout", path: "/rest/api/3/issue", method: "POST" });
      await Promise.all(
        drafts.map(async (d) => {
          const first = await send(d.draft_id, alice.impatient);
          expect(textOf(first)).toMatch(/did not answer in time.*Jira may still file it until/);
          const during = await send(d.draft_id, alice.impatient);
          expect(textOf(during)).toMatch(/may still be filed by Jira until/);
        }),
      );
      // The hang ends: whatever Jira still holds is applied now.
      jira.faults.clear();
      await Promise.all(
        drafts.map(async (d) => {
          const settled = await sendUntilSettled(d.draft_id, alice.impatient);
          expect(settled.isError, textOf(settled)).toBe(false);
        }),
      );
      await sleep(100);
      for (const d of drafts) expect(issuesFor(d.draft_id)).toHaveLength(1);
    }
  }, 600_000);

  it(`refuses every retry after Jira failed a create and carol then rejected, even a replay of her approval (${ROUNDS} rounds)`, async () => {
    const batches = Math.ceil(ROUNDS / BATCH);
    for (let b = 0; b < batches; b++) {
      const drafts = await Promise.all(Array.from({ length: BATCH }, () => approved()));
      jira.faults.set({
        kind: "status",
        status: 500,
        path: "/rest/api/3/issue",
        method: "POST",
        times: BATCH,
      });
      await Promise.all(
        drafts.map(async (d) => {
          const failed = await send(d.draft_id);
          expect(textOf(failed)).toMatch(/Jira failed \(HTTP 500\).*Jira may still file it until/);
        }),
      );
      expect(jira.faults.active()).toEqual([]);
      await Promise.all(
        drafts.map(async (d) => {
          const rejected = await desk.decide("carol", d.draft_id, "reject");
          expect(rejected.status, rejected.body.error_description).toBe(200);
          // Carol's earlier approve request, sent again byte for byte: it cannot re-decide.
          const replayed = await desk.replayFirstApproval(d.draft_id);
          expect(replayed.status).toBe(409);
          // The 500 proves nothing, so the retry first waits out the landing window and searches Jira.
          const retry = await sendUntilSettled(d.draft_id);
          expect(retry.isError).toBe(true);
          expect(textOf(retry)).toBe(`ticket_draft ${d.draft_id} was rejected by carol: wrong customer`);
          expect(issuesFor(d.draft_id)).toHaveLength(0);
        }),
      );
    }
  }, 600_000);

  it(`sends exactly the approved text when an edit races the send ~1 ms apart (${ROUNDS} rounds)`, async () => {
    let sentFirst = 0;
    let editedFirst = 0;
    await inBatches(ROUNDS, BATCH, async (i) => {
      const d = await approved(`Approved ${i}`);
      // Either call may start first, up to 2 ms apart.
      const lead = (i % 5) - 2;
      const [sent, edited] = await Promise.all([
        sleep(Math.max(0, -lead)).then(() => send(d.draft_id)),
        sleep(Math.max(0, lead)).then(() =>
          alice.draft.callTool({
            name: "update_ticket_draft",
            arguments: { draft_id: d.draft_id, summary: `Unapproved ${i}` },
          }),
        ),
      ]);
      const issues = issuesFor(d.draft_id);
      const got = await alice.draft.callTool({
        name: "get_ticket_draft",
        arguments: { draft_id: d.draft_id },
      });
      const now = (
        got.structuredContent as { draft: { summary: string; status: string; content_hash: string } }
      ).draft;
      expect(Number(!sent.isError) + Number(!edited.isError), `${textOf(sent)} | ${textOf(edited)}`).toBe(1);
      if (!sent.isError) {
        sentFirst++;
        expect(textOf(edited)).toMatch(/is being sent and cannot change|was already sent/);
        expect(issues).toHaveLength(1);
        expect(issues[0]!.summary).toBe(`Approved ${i}`);
        expect(issues[0]!.properties.gatehouse).toEqual({ draftId: d.draft_id, contentHash: d.content_hash });
        expect(now).toMatchObject({ summary: `Approved ${i}`, status: "sent", content_hash: d.content_hash });
      } else {
        editedFirst++;
        expect(textOf(sent)).toBe(
          `ticket_draft ${d.draft_id} changed after it was approved; it needs a new approval`,
        );
        expect(issues).toHaveLength(0);
        expect(now).toMatchObject({ summary: `Unapproved ${i}`, status: "draft" });
      }
    });
    // Both orders happened, so the race was real.
    expect(sentFirst).toBeGreaterThan(0);
    expect(editedFirst).toBeGreaterThan(0);
  }, 600_000);

  it(`files one issue when two senders race (${ROUNDS} rounds)`, async () => {
    await inBatches(ROUNDS, BATCH, async () => {
      const d = await approved();
      const results = await Promise.all([send(d.draft_id, alice.send), send(d.draft_id, alice.send2)]);
      const ok = results.filter((r) => !r.isError);
      expect(ok.length).toBeGreaterThan(0);
      for (const r of results.filter((x) => x.isError))
        expect(textOf(r)).toMatch(/is in progress; call send_ticket again in \d+ s/);
      const issues = issuesFor(d.draft_id);
      expect(issues).toHaveLength(1);
      for (const r of ok) expect((r.structuredContent as SendResult).jira_key).toBe(issues[0]!.key);
    });
  }, 600_000);

  it("is usable at once when Jira recovers from an outage and nothing is in flight", async () => {
    const d = await approved();
    // Jira is down for everything: creates and the searches that reconcile them.
    jira.faults.set({ kind: "status", status: 503 });
    for (let i = 0; i < 3; i++) expect(textOf(await send(d.draft_id))).toMatch(/Jira failed \(HTTP 503\)/);
    jira.faults.clear();
    const recovered = await send(d.draft_id);
    expect(recovered.isError, textOf(recovered)).toBe(false);
    expect(issuesFor(d.draft_id)).toHaveLength(1);
  });

  it("keeps every call's intent and outcome in a chain that verifies", async () => {
    const result = await verifyAuditChain(env.audit);
    expect(result).toMatchObject({ ok: true });
    const events = await env.audit.latest(100_000);
    const requested = events.filter((e) => e.type === "tool.requested").length;
    const outcomes = events.filter((e) =>
      ["tool.completed", "tool.failed", "tool.denied"].includes(e.type),
    ).length;
    expect(outcomes).toBe(requested);
  });
});
