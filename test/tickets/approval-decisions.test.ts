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
import { outcomeEvent, textOf } from "../support/results.ts";
import { TICKET_DRAFT_ENTRY, TICKET_SEND_ENTRY } from "../support/servers.ts";
import { createApprovalDesk, inBatches, sleep, ticketServerEnv } from "../support/tickets.ts";

/** Four eyes over every author, and decisions that are final and ordered, each tried as an attack. */
describe.each(storeMatrix())("approval decisions ($storeKind store)", (store) => {
  let env: TestEnvironment;
  let jira: RunningJira;
  let draftServer: SpawnedServer;
  let sendServer: SpawnedServer;
  /** A ticket-send whose approvals expire after 3 s and whose people may decide 8 times a minute. */
  let strictServer: SpawnedServer;
  const clients: Client[] = [];
  let desk: ReturnType<typeof createApprovalDesk>;
  let strictDesk: ReturnType<typeof createApprovalDesk>;

  beforeAll(async () => {
    env = await createTestEnvironment(store);
    jira = await startJiraSandbox({ port: 0 });
    const serverEnv = ticketServerEnv(env, jira, {
      // Long enough that a decision made while a held create is in flight always lands during it.
      JIRA_TIMEOUT_MS: "3000",
      TICKETS_SEND_LANDING_GRACE_MS: "500",
    });
    [draftServer, sendServer, strictServer] = await Promise.all([
      spawnHttpServer(TICKET_DRAFT_ENTRY, serverEnv),
      spawnHttpServer(TICKET_SEND_ENTRY, serverEnv),
      spawnHttpServer(TICKET_SEND_ENTRY, {
        ...serverEnv,
        GATEHOUSE_APPROVAL_TTL_SECONDS: "3",
        GATEHOUSE_RATE_LIMIT_USER: "8/60s",
      }),
    ]);
    desk = createApprovalDesk(env, sendServer);
    strictDesk = createApprovalDesk(env, strictServer);
  }, 120_000);

  afterEach(() => jira?.faults.clear());

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([draftServer?.stop(), sendServer?.stop(), strictServer?.stop()]);
    await jira?.close();
    await env?.close();
  });

  const client = async (user: string, server: SpawnedServer) => {
    const c = await connectHttp(server.url, await env.mint(user, { audience: server.url }));
    clients.push(c);
    return c;
  };
  const newDraft = async (author: Client, summary: string) => {
    const r = await author.callTool({
      name: "create_ticket_draft",
      arguments: { project: "SUP", issue_type: "Task", summary, description: "Customer waits." },
    });
    expect(r.isError, textOf(r)).toBe(false);
    return (r.structuredContent as { draft: { draft_id: string; content_hash: string } }).draft;
  };
  const edit = (editor: Client, draftId: string, summary: string) =>
    editor.callTool({ name: "update_ticket_draft", arguments: { draft_id: draftId, summary } });
  const send = (sender: Client, draftId: string) =>
    sender.callTool({ name: "send_ticket", arguments: { draft_id: draftId } });
  const lastRefusal = async () =>
    (await env.audit.latest(50)).filter((e) => e.type === "approval.refused").at(-1);

  it("refuses an admin who rewrote alice's draft the approval of his own text, and audits it (four eyes over every author)", async () => {
    const aliceDraft = await client("alice", draftServer);
    const daveDraft = await client("dave", draftServer);
    const aliceSend = await client("alice", sendServer);
    const d = await newDraft(aliceDraft, "Refund order SO-100001");
    const rewritten = await edit(daveDraft, d.draft_id, "Refund order SO-100001 twice");
    expect(rewritten.isError, textOf(rewritten)).toBe(false);

    const own = await desk.decide("dave", d.draft_id, "approve");
    expect(own.status).toBe(403);
    expect(own.body.error_description).toBe(
      `you wrote ticket_draft ${d.draft_id}; someone else must approve it (four eyes)`,
    );
    const refused = await lastRefusal();
    expect(refused).toMatchObject({ user_id: "dave" });
    expect(JSON.parse(refused!.policy_ids)).toEqual(["approvals.four-eyes"]);
    expect(textOf(await send(aliceSend, d.draft_id))).toBe(
      `ticket_draft ${d.draft_id} has not been approved; an approver must approve it first`,
    );
    expect((await desk.review("carol", d.draft_id)).body.subject?.authors).toEqual(["alice", "dave"]);

    // Someone who wrote none of it may approve it; then alice's send files exactly that text.
    expect((await desk.decide("carol", d.draft_id, "approve")).status).toBe(200);
    const sent = await send(aliceSend, d.draft_id);
    expect(sent.isError, textOf(sent)).toBe(false);
    expect(jira.issues().find((i) => i.labels.includes(`gatehouse-${d.draft_id}`))?.summary).toBe(
      "Refund order SO-100001 twice",
    );
  });

  it("voids an approval when its approver edits the draft afterwards, and refuses his new one", async () => {
    const aliceDraft = await client("alice", draftServer);
    const daveDraft = await client("dave", draftServer);
    const aliceSend = await client("alice", sendServer);
    const d = await newDraft(aliceDraft, "Escalate SO-100002");
    expect((await desk.decide("dave", d.draft_id, "approve")).status).toBe(200);
    expect((await edit(daveDraft, d.draft_id, "Escalate SO-100002 and waive fees")).isError).toBe(false);
    const r = await send(aliceSend, d.draft_id);
    expect(textOf(r)).toBe(
      `ticket_draft ${d.draft_id} changed after it was approved; it needs a new approval`,
    );
    expect((await outcomeEvent(env.audit, r)).detail.stage).toBe("approval");
    expect((await desk.decide("dave", d.draft_id, "approve")).status).toBe(403);
  });

  it("keeps a rejection final for that content: no one approves it again until its author changes it", async () => {
    const aliceDraft = await client("alice", draftServer);
    const d = await newDraft(aliceDraft, "Credit note for SO-100003");
    expect((await desk.decide("carol", d.draft_id, "reject")).status).toBe(200);
    const again = await desk.decide("dave", d.draft_id, "approve");
    expect(again.status).toBe(409);
    expect(again.body.error_description).toBe(
      `ticket_draft ${d.draft_id} was rejected by carol; a rejection is final for this content, so its author must change it first`,
    );
    expect(await lastRefusal()).toMatchObject({ user_id: "dave", decision: "deny" });
    expect((await edit(aliceDraft, d.draft_id, "Credit note for SO-100003, corrected")).isError).toBe(false);
    expect((await desk.decide("dave", d.draft_id, "approve")).status).toBe(200);
  });

  it("keeps a rejection final for that content even after decisions on other versions", async () => {
    const aliceDraft = await client("alice", draftServer);
    const d = await newDraft(aliceDraft, "Goodwill refund SO-100007");
    expect((await desk.decide("carol", d.draft_id, "reject")).status).toBe(200);
    expect((await edit(aliceDraft, d.draft_id, "Goodwill refund SO-100007, halved")).isError).toBe(false);
    expect((await desk.decide("dave", d.draft_id, "approve")).status).toBe(200);
    // Back to the text carol rejected: a new approver is not allowed to approve it now.
    const back = await edit(aliceDraft, d.draft_id, "Goodwill refund SO-100007");
    expect((back.structuredContent as { draft: { content_hash: string } }).draft.content_hash).toBe(
      d.content_hash,
    );
    const again = await desk.decide("dave", d.draft_id, "approve");
    expect(again.status).toBe(409);
    expect(again.body.error_description).toContain(
      "was rejected by carol; a rejection is final for this content",
    );
  });

  it("refuses a decision while a send is in flight, instead of pretending to stop it", async () => {
    const aliceDraft = await client("alice", draftServer);
    const aliceSend = await client("alice", sendServer);
    const d = await newDraft(aliceDraft, "In flight SO-100008");
    expect((await desk.decide("carol", d.draft_id, "approve")).status).toBe(200);
    // Jira holds the create: the draft stays frozen while the attempt, and then its landing window, lasts.
    jira.faults.set({ kind: "timeout", path: "/rest/api/3/issue", method: "POST" });
    const sending = send(aliceSend, d.draft_id);
    for (let i = 0; i < 100; i++) {
      const got = await aliceDraft.callTool({
        name: "get_ticket_draft",
        arguments: { draft_id: d.draft_id },
      });
      if ((got.structuredContent as { draft: { status: string } }).draft.status === "sending") break;
      await sleep(20);
    }
    const late = await desk.decide("dave", d.draft_id, "reject");
    expect(late.status).toBe(409);
    expect(late.body.error_description).toContain(
      "is being sent right now, and a decision cannot stop a send under way",
    );
    expect(textOf(await sending)).toMatch(/Jira may still file it until/);
  });

  it("never takes an issue that merely wears the draft's label for the draft's own", async () => {
    const aliceDraft = await client("alice", draftServer);
    const aliceSend = await client("alice", sendServer);
    const refused = await aliceDraft.callTool({
      name: "create_ticket_draft",
      arguments: {
        project: "SUP",
        issue_type: "Task",
        summary: "s",
        description: "d",
        labels: ["gatehouse-dr_x"],
      },
    });
    expect(textOf(refused)).toContain("labels starting with gatehouse- are Gatehouse's own");

    const d = await newDraft(aliceDraft, "Forged label SO-100009");
    expect((await desk.decide("carol", d.draft_id, "approve")).status).toBe(200);
    jira.faults.set({ kind: "status", status: 500, path: "/rest/api/3/issue", method: "POST", times: 1 });
    expect(textOf(await send(aliceSend, d.draft_id))).toMatch(/Jira may still file it until/);
    // Someone with Jira access files an issue wearing this draft's label, hoping the send takes it for its own.
    const forged = await fetch(`${jira.url}/rest/api/3/issue`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${jira.email}:${jira.apiToken}`).toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        fields: {
          project: { key: "SUP" },
          issuetype: { name: "Task" },
          summary: "Not what carol approved",
          labels: [`gatehouse-${d.draft_id}`],
        },
      }),
    });
    expect(forged.status).toBe(201);
    const forgedKey = ((await forged.json()) as { key: string }).key;
    await sleep(600);
    const sent = await send(aliceSend, d.draft_id);
    expect(sent.isError, textOf(sent)).toBe(false);
    const key = (sent.structuredContent as { jira_key: string }).jira_key;
    expect(key).not.toBe(forgedKey);
    const filed = jira.issues().find((i) => i.key === key);
    expect(filed?.properties.gatehouse).toEqual({ draftId: d.draft_id, contentHash: d.content_hash });
  });

  it("refuses a decision that does not name the decision it follows, or names a stale one", async () => {
    const aliceDraft = await client("alice", draftServer);
    const d = await newDraft(aliceDraft, "Replace parcel SO-100004");
    const missing = await desk.postRaw(
      "carol",
      d.draft_id,
      JSON.stringify({ decision: "approve", content_hash: d.content_hash }),
    );
    expect(missing.status).toBe(400);
    expect(missing.body.error_description).toMatch(/^previous_decision: required/);
    expect(await lastRefusal()).toMatchObject({ user_id: "carol", outcome: "invalid request" });

    const first = await desk.decide("carol", d.draft_id, "approve");
    expect(first.status).toBe(200);
    const stale = await desk.postRaw(
      "dave",
      d.draft_id,
      JSON.stringify({ decision: "reject", content_hash: d.content_hash, previous_decision: null }),
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error_description).toBe(
      `ticket_draft ${d.draft_id} was decided since you reviewed it (now approved by carol as ${first.body.approval_id}); review it again`,
    );
  });

  it("lets exactly one of two approvers deciding at the same moment win (20 rounds)", async () => {
    const aliceDraft = await client("alice", draftServer);
    await inBatches(20, 5, async (i) => {
      const d = await newDraft(aliceDraft, `Two approvers ${i}`);
      // Both saw the same view (no decision yet) and decide on it at the same moment.
      const seen = (await desk.review("carol", d.draft_id)).body;
      const body = (decision: string) =>
        JSON.stringify({ decision, content_hash: seen.content_hash, previous_decision: null });
      const [a, b] = await Promise.all([
        desk.postRaw("carol", d.draft_id, body("approve")),
        desk.postRaw("dave", d.draft_id, body("reject")),
      ]);
      expect([a.status, b.status].sort()).toEqual([200, 409]);
      const latest = (await desk.review("carol", d.draft_id)).body.latest_decision;
      expect(latest?.approver).toBe(a.status === 200 ? "carol" : "dave");
    });
  });

  it("refuses any decision on a draft that was sent", async () => {
    const aliceDraft = await client("alice", draftServer);
    const aliceSend = await client("alice", sendServer);
    const d = await newDraft(aliceDraft, "Sent already SO-100005");
    expect((await desk.decide("carol", d.draft_id, "approve")).status).toBe(200);
    expect((await send(aliceSend, d.draft_id)).isError).toBe(false);
    const late = await desk.decide("dave", d.draft_id, "reject");
    expect(late.status).toBe(409);
    expect(late.body.error_description).toBe(
      `ticket_draft ${d.draft_id} was already sent; there is nothing to decide`,
    );
  });

  it("refuses a retry after the approval expired, though the first attempt failed at Jira", async () => {
    const aliceDraft = await client("alice", draftServer);
    const aliceSend = await client("alice", strictServer);
    const d = await newDraft(aliceDraft, "Expiring approval SO-100006");
    expect((await strictDesk.decide("carol", d.draft_id, "approve")).status).toBe(200);
    jira.faults.set({ kind: "status", status: 500, path: "/rest/api/3/issue", method: "POST", times: 1 });
    expect(textOf(await send(aliceSend, d.draft_id))).toMatch(/Jira failed \(HTTP 500\)/);
    await sleep(3_200);
    const retry = await send(aliceSend, d.draft_id);
    expect(textOf(retry)).toMatch(new RegExp(`^the approval of ticket_draft ${d.draft_id} expired at `));
    expect(jira.issues().filter((i) => i.labels.includes(`gatehouse-${d.draft_id}`))).toHaveLength(0);
  });

  it("rate-limits decisions per person with 429 and Retry-After, and audits each refusal", async () => {
    const aliceDraft = await client("alice", draftServer);
    const drafts = await Promise.all(
      Array.from({ length: 10 }, (_, i) => newDraft(aliceDraft, `Limit ${i}`)),
    );
    let limited: Awaited<ReturnType<typeof strictDesk.decide>> | undefined;
    for (const d of drafts) {
      const r = await strictDesk.decide("carol", d.draft_id, "reject");
      if (r.status === 429) {
        limited = r;
        break;
      }
      expect(r.status).toBe(200);
    }
    expect(limited?.body.error_description).toMatch(/^too many decisions for this user; retry after \d+ s$/);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await lastRefusal()).toMatchObject({ user_id: "carol", outcome: "rate limited (user)" });
  });
});
