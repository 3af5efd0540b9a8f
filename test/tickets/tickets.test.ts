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
import { runCliAsync } from "../support/cli.ts";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { outcomeEvent, textOf } from "../support/results.ts";
import { TICKET_DRAFT_ENTRY, TICKET_SEND_ENTRY } from "../support/servers.ts";
import { createApprovalDesk, type SendResult, ticketServerEnv } from "../support/tickets.ts";

type Draft = { draft_id: string; content_hash: string; tenant: string; status: string };
describe.each(storeMatrix())(
  "ticket-draft and ticket-send on the Jira stand-in ($storeKind store)",
  (store) => {
    let env: TestEnvironment;
    let jira: RunningJira;
    let draftServer: SpawnedServer;
    let sendServer: SpawnedServer;
    let serverEnv: Record<string, string>;
    let aliceDraft: Client;
    let aliceSend: Client;

    beforeAll(async () => {
      env = await createTestEnvironment(store);
      jira = await startJiraSandbox({ port: 0 });
      serverEnv = ticketServerEnv(env, jira, {
        JIRA_TIMEOUT_MS: "1000",
        JIRA_RETRY_BUDGET_MS: "3000",
        GATEHOUSE_REQUEST_TIMEOUT_MS: "4000",
        TICKETS_SEND_LANDING_GRACE_MS: "1500",
      });
      [draftServer, sendServer] = await Promise.all([
        spawnHttpServer(TICKET_DRAFT_ENTRY, serverEnv),
        spawnHttpServer(TICKET_SEND_ENTRY, serverEnv),
      ]);
      aliceDraft = await connectHttp(draftServer.url, await env.mint("alice", { audience: draftServer.url }));
      aliceSend = await connectHttp(sendServer.url, await env.mint("alice", { audience: sendServer.url }));
    });

    afterEach(() => jira?.faults.clear());

    afterAll(async () => {
      await Promise.all([aliceDraft?.close(), aliceSend?.close()]);
      await Promise.all([draftServer?.stop(), sendServer?.stop()]);
      await jira?.close();
      await env?.close();
    });

    let n = 0;
    const draft = async (client = aliceDraft, extra: Record<string, unknown> = {}): Promise<Draft> => {
      const r = await client.callTool({
        name: "create_ticket_draft",
        arguments: {
          project: "SUP",
          issue_type: "Incident",
          summary: `Late delivery ${++n}`,
          description: "Order SO-100001 is late.\nCustomer asked twice.",
          priority: "High",
          order_id: "SO-100001",
          ...extra,
        },
      });
      expect(r.isError, textOf(r)).toBe(false);
      return (r.structuredContent as { draft: Draft }).draft;
    };

    const decide = (user: string, draftId: string, decision: "approve" | "reject", hash?: string) =>
      createApprovalDesk(env, sendServer).decide(user, draftId, decision, hash);

    const send = (draftId: string, client = aliceSend, dryRun = false) =>
      client.callTool({ name: "send_ticket", arguments: { draft_id: draftId, dry_run: dryRun } });
    const issuesFor = (draftId: string) =>
      jira.issues().filter((i) => i.labels.includes(`gatehouse-${draftId}`));

    it("refuses alice's send until carol approves that exact draft; then one send, and five retries, make exactly one issue", async () => {
      const d = await draft();
      const refused = await send(d.draft_id);
      expect(refused.isError).toBe(true);
      expect(textOf(refused)).toBe(
        `ticket_draft ${d.draft_id} has not been approved; an approver must approve it first`,
      );
      expect((await outcomeEvent(env.audit, refused)).detail.stage).toBe("approval");
      expect(issuesFor(d.draft_id)).toHaveLength(0);

      const approved = await decide("carol", d.draft_id, "approve");
      expect(approved.status, approved.body.error_description).toBe(200);

      const first = await send(d.draft_id);
      expect(first.isError, textOf(first)).toBe(false);
      const sent = first.structuredContent as SendResult;
      expect(sent).toMatchObject({
        replayed: false,
        approved_by: "carol",
        approval_id: approved.body.approval_id,
      });
      expect(sent.jira_key).toMatch(/^SUP-\d+$/);
      const event = await outcomeEvent(env.audit, first);
      expect(event.approval_id).toBe(approved.body.approval_id);

      for (let i = 0; i < 5; i++) {
        const again = await send(d.draft_id);
        expect(again.structuredContent as SendResult).toMatchObject({
          jira_key: sent.jira_key,
          replayed: true,
        });
      }
      expect(issuesFor(d.draft_id)).toHaveLength(1);
      const issue = issuesFor(d.draft_id)[0]!;
      expect(issue).toMatchObject({
        projectKey: "SUP",
        issueType: "Incident",
        properties: { gatehouse: { draftId: d.draft_id, contentHash: d.content_hash } },
      });
    });

    it("returns exactly what would be sent on a dry run, without an approval and without sending", async () => {
      const d = await draft();
      const r = await send(d.draft_id, aliceSend, true);
      expect(r.isError, textOf(r)).toBe(false);
      const out = r.structuredContent as SendResult;
      expect(out.jira_key).toBeNull();
      expect(out.jira_request).toMatchObject({
        operation: "create_issue",
        body: { fields: { project: { key: "SUP" }, summary: expect.stringMatching(/^Late delivery/) } },
      });
      expect(issuesFor(d.draft_id)).toHaveLength(0);
    });

    it("refuses self-approval (four eyes) and audits the attempt", async () => {
      const dave = await connectHttp(draftServer.url, await env.mint("dave", { audience: draftServer.url }));
      try {
        const d = await draft(dave);
        const r = await decide("dave", d.draft_id, "approve");
        expect(r.status).toBe(403);
        expect(r.body.error_description).toContain("someone else must approve it (four eyes)");
        const refused = (await env.audit.latest(20)).filter((e) => e.type === "approval.refused").at(-1);
        expect(refused).toMatchObject({ user_id: "dave" });
        expect(JSON.parse(refused!.policy_ids ?? "[]")).toEqual(["approvals.four-eyes"]);
      } finally {
        await dave.close();
      }
    });

    it("refuses an approver from another tenant, and a support agent", async () => {
      const d = await draft();
      const erin = await decide("erin", d.draft_id, "approve");
      expect(erin.status).toBe(403);
      const bob = await decide("bob", d.draft_id, "approve");
      expect(bob.status).toBe(403);
      expect(textOf(await send(d.draft_id))).toContain("has not been approved");
    });

    it("refuses a draft edited after approval, until it is approved again", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      const edited = await aliceDraft.callTool({
        name: "update_ticket_draft",
        arguments: { draft_id: d.draft_id, summary: "Late delivery, and a refund" },
      });
      expect(edited.isError, textOf(edited)).toBe(false);
      expect(textOf(await send(d.draft_id))).toBe(
        `ticket_draft ${d.draft_id} changed after it was approved; it needs a new approval`,
      );
      expect((await decide("carol", d.draft_id, "approve", d.content_hash)).body.error_description).toContain(
        "changed since you reviewed it",
      );
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      expect((await send(d.draft_id)).isError).toBe(false);
    });

    it("refuses a rejected draft, naming who rejected it and why", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "reject")).status).toBe(200);
      expect(textOf(await send(d.draft_id))).toBe(
        `ticket_draft ${d.draft_id} was rejected by carol: wrong customer`,
      );
    });

    it("never lets one draft's approval send another, and freezes a sent draft", async () => {
      const a = await draft();
      const b = await draft();
      expect((await decide("carol", a.draft_id, "approve")).status).toBe(200);
      expect((await send(a.draft_id)).isError).toBe(false);
      expect(textOf(await send(b.draft_id))).toContain("has not been approved");
      const edit = await aliceDraft.callTool({
        name: "update_ticket_draft",
        arguments: { draft_id: a.draft_id, summary: "sneaky" },
      });
      expect(textOf(edit)).toBe(`draft ${a.draft_id} was already sent and can no longer change`);
    });

    it("refuses a drafter-only token at ticket-send with 403 insufficient_scope, audited", async () => {
      const token = await env.mint("alice", { audience: sendServer.url, scopes: ["tickets:draft"] });
      const res = await rawRequest(sendServer.url, {
        headers: { ...MCP_HEADERS, authorization: `Bearer ${token}` },
        body: callToolBody("send_ticket", { draft_id: "dr_aaaaaaaaaaaa" }),
      });
      expect(res.status).toBe(403);
      expect(String(res.headers["www-authenticate"])).toContain('error="insufficient_scope"');
      expect((await env.audit.latest(5)).filter((e) => e.type === "auth.rejected").at(-1)).toMatchObject({
        user_id: "alice",
        outcome: "insufficient_scope",
      });
    });

    it("refuses bob a send of alice's draft before anything happens", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      const bob = await connectHttp(sendServer.url, await env.mint("bob", { audience: sendServer.url }));
      try {
        const r = await bob.callTool({ name: "send_ticket", arguments: { draft_id: d.draft_id } });
        expect(textOf(r)).toBe(`ticket_draft ${d.draft_id} is in tenant emea; you may act in na`);
        expect(issuesFor(d.draft_id)).toHaveLength(0);
      } finally {
        await bob.close();
      }
    });

    it("makes exactly one issue from five concurrent sends", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      const results = await Promise.all(Array.from({ length: 5 }, () => send(d.draft_id)));
      const keys = new Set(
        results.filter((r) => !r.isError).map((r) => (r.structuredContent as SendResult).jira_key),
      );
      expect(keys.size).toBe(1);
      for (const r of results.filter((x) => x.isError))
        expect(textOf(r)).toMatch(/is in progress; call send_ticket again in \d+ s to get its result/);
      const final = await send(d.draft_id);
      expect((final.structuredContent as SendResult).jira_key).toBe([...keys][0]);
      expect(issuesFor(d.draft_id)).toHaveLength(1);
    });

    it("reconciles after Jira filed the issue but its answer never came: the retry finds it, one issue", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      jira.faults.set({ kind: "commit-then-timeout", path: "/rest/api/3/issue", method: "POST", times: 1 });
      const lost = await send(d.draft_id);
      expect(lost.isError).toBe(true);
      expect(textOf(lost)).toMatch(/Jira may still file it until .*: call send_ticket again in \d+ s/);
      expect(issuesFor(d.draft_id)).toHaveLength(1);
      jira.faults.clear();
      const early = await send(d.draft_id);
      expect(textOf(early)).toContain("may still be filed by Jira until");
      await new Promise((r) => setTimeout(r, 1600));
      const retry = await send(d.draft_id);
      expect(retry.structuredContent as SendResult).toMatchObject({
        replayed: true,
        jira_key: issuesFor(d.draft_id)[0]!.key,
      });
      expect(issuesFor(d.draft_id)).toHaveLength(1);
    });

    it("survives the server being killed between Jira's answer and the commit: restart, retry, one issue", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      jira.faults.set({ kind: "commit-then-timeout", path: "/rest/api/3/issue", method: "POST" });
      const inFlight = send(d.draft_id).catch((e: Error) => e);
      for (let i = 0; i < 100 && issuesFor(d.draft_id).length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(issuesFor(d.draft_id)).toHaveLength(1);
      await sendServer.stop("SIGKILL");
      await inFlight;
      jira.faults.clear();
      await aliceSend.close();
      sendServer = await spawnHttpServer(TICKET_SEND_ENTRY, serverEnv);
      aliceSend = await connectHttp(sendServer.url, await env.mint("alice", { audience: sendServer.url }));
      // The killed attempt owns the send until its deadline (4 s) plus the landing grace (1.5 s).
      let result: SendResult | undefined;
      for (let i = 0; i < 60 && !result; i++) {
        const r = await send(d.draft_id);
        if (!r.isError) result = r.structuredContent as SendResult;
        else {
          expect(textOf(r)).toContain("is in progress");
          await new Promise((res) => setTimeout(res, 250));
        }
      }
      expect(result).toMatchObject({ replayed: true, jira_key: issuesFor(d.draft_id)[0]!.key });
      expect(issuesFor(d.draft_id)).toHaveLength(1);
    });

    it("treats an unreadable answer to a create as an unknown outcome: the retry reconciles and files exactly once", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      jira.faults.set({ kind: "malformed", path: "/rest/api/3/issue", method: "POST", times: 1 });
      const garbled = await send(d.draft_id);
      expect(garbled.isError).toBe(true);
      expect(textOf(garbled)).toMatch(/Jira may still file it until .*: call send_ticket again in \d+ s/);
      jira.faults.clear();
      // Garbage proves nothing, so the landing window is waited out; the stand-in's malformed fault applied
      // nothing, so the retry then reconciles, finds none and files once.
      expect(textOf(await send(d.draft_id))).toContain("may still be filed by Jira until");
      await new Promise((r) => setTimeout(r, 1600));
      const retry = await send(d.draft_id);
      expect(retry.isError, textOf(retry)).toBe(false);
      expect(issuesFor(d.draft_id)).toHaveLength(1);
      expect((retry.structuredContent as SendResult).jira_key).toBe(issuesFor(d.draft_id)[0]!.key);
    });

    it("retries a Jira 429 on create (nothing was filed) and still files exactly once", async () => {
      const d = await draft();
      expect((await decide("carol", d.draft_id, "approve")).status).toBe(200);
      jira.faults.set({
        kind: "status",
        status: 429,
        retryAfterSeconds: 1,
        path: "/rest/api/3/issue",
        method: "POST",
        times: 1,
      });
      const r = await send(d.draft_id);
      expect(r.isError, textOf(r)).toBe(false);
      expect((await outcomeEvent(env.audit, r)).detail.upstream).toMatchObject({
        system: "jira",
        status: 200,
        attempts: 2,
      });
      expect(issuesFor(d.draft_id)).toHaveLength(1);
    });

    it("quotes search text so JQL injection cannot reach another tenant's project", async () => {
      const r = await aliceDraft.callTool({
        name: "search_tickets",
        arguments: { text: 'x" OR project = "NAS' },
      });
      expect(r.isError, textOf(r)).toBe(false);
      const tickets = (r.structuredContent as { tickets: Array<{ project: string }> }).tickets;
      expect(tickets.every((t) => t.project === "SUP")).toBe(true);
      const plain = await aliceDraft.callTool({
        name: "search_tickets",
        arguments: { text: "Late delivery" },
      });
      expect(
        (plain.structuredContent as { tickets: Array<{ project: string }> }).tickets.length,
      ).toBeGreaterThan(0);
    });

    const badDrafts: Array<[string, Record<string, unknown>, string]> = [
      ["a summary over 255 characters", { summary: "x".repeat(300) }, "summary: Too big"],
      [
        "another tenant's project",
        { project: "NAS" },
        "project NAS is not a Jira project of tenant emea; use SUP",
      ],
      ["an issue type the project lacks", { issue_type: "Epic" }, 'issue type "Epic" does not exist in SUP'],
      ["a label with a space", { labels: ["a b"] }, "labels.0: a label is up to 50 letters"],
      ["an unknown field", { assignee: "mallory" }, 'unknown field(s) "assignee"'],
    ];

    it.each(badDrafts)(
      "answers a draft with %s with a clear error, and stores nothing",
      async (_label, extra, message) => {
        const before = (await aliceDraft.callTool({ name: "list_ticket_drafts", arguments: { limit: 50 } }))
          .structuredContent as { drafts: unknown[] };
        const r = await aliceDraft.callTool({
          name: "create_ticket_draft",
          arguments: { project: "SUP", issue_type: "Task", summary: "s", description: "d", ...extra },
        });
        expect(r.isError).toBe(true);
        expect(textOf(r)).toContain(message);
        const after = (await aliceDraft.callTool({ name: "list_ticket_drafts", arguments: { limit: 50 } }))
          .structuredContent as { drafts: unknown[] };
        expect(after.drafts.length).toBe(before.drafts.length);
      },
    );

    it("lets carol approve from the CLI, and the audit trail names drafter, approver and sender", async () => {
      const d = await draft();
      const cli = await runCliAsync(["approve", d.draft_id, "--user", "carol"], {
        GATEHOUSE_DATA_DIR: env.dataDir,
        GATEHOUSE_ISSUER: env.issuer.url,
        GATEHOUSE_TICKET_SEND_URL: sendServer.url,
        DATABASE_URL: env.env.DATABASE_URL ?? "",
      });
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stdout).toContain(`approved ${d.draft_id}`);
      const sent = await send(d.draft_id);
      expect(sent.isError, textOf(sent)).toBe(false);
      const events = (await env.audit.latest(200)).filter(
        (e) => e.args?.includes(d.draft_id) || e.detail.includes(d.draft_id),
      );
      const who = events.map((e) => [e.type, e.user_id]);
      expect(who).toContainEqual(["approval.granted", "carol"]);
      expect(who).toContainEqual(["tool.completed", "alice"]);
      const trace = await runCliAsync(["audit", "trace", d.draft_id], {
        GATEHOUSE_DATA_DIR: env.dataDir,
        DATABASE_URL: env.env.DATABASE_URL ?? "",
      });
      expect(trace.status, trace.stderr).toBe(0);
      expect(trace.stdout).toMatch(/create_ticket_draft[^\n]+alice/);
      expect(trace.stdout).toMatch(/approval\.granted[^\n]+carol/);
      expect(trace.stdout).toMatch(/send_ticket[^\n]+alice/);
    });
  },
);
