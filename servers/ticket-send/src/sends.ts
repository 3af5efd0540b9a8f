import { randomUUID } from "node:crypto";
import { type ToolContext, ToolError, UpstreamError } from "@gatehouse/kit";
import {
  inTransaction,
  lockingRead,
  type Store,
  type StoreDb,
  type TicketSendsTable,
} from "@gatehouse/store";
import {
  commentMarker,
  type Draft,
  draftFromRow,
  draftLabel,
  type JiraGateway,
  type JiraRequest,
  JiraUnreadableError,
  jiraRequestFor,
  quoteJql,
  SUBJECT_TYPE,
  verifiedContent,
  withinProjects,
} from "@gatehouse/tickets";

type Ctx = Pick<ToolContext<unknown>, "annotate" | "signal" | "deadline">;
type Approval = NonNullable<ToolContext<unknown>["approval"]>;
type ApprovalSubject = Parameters<Approval["claim"]>[1];

export interface SendSettings {
  /**
   * How long after an attempt stopped waiting for Jira (timed out, aborted, connection lost) Jira may still
   * file that request. Nobody files again, or trusts a search that finds nothing, before it has passed.
   */
  landingGraceMs: number;
}

export interface SendResult {
  jiraKey: string;
  /** True when the draft had already been filed: nothing new was sent. */
  replayed: boolean;
  approvalId: string | null;
  approver: string | null;
}

/** Where a draft's send stands, once any earlier attempt has been settled. */
type Settled = { sent: SendResult } | { open: Draft };

/** What the claiming transaction decided. */
type Claim =
  | { kind: "replay"; result: SendResult }
  | { kind: "wait"; message: string }
  | { kind: "refused"; message: string }
  | { kind: "reconcile"; draft: Draft; attempt: string }
  | { kind: "file"; draft: Draft; attempt: string; approval: { id: string; approver: string } };

/** How an attempt ended, as far as Gatehouse can know. */
type AttemptEnd = { sent: string } | { failed: string } | { unknown: string; mayLandUntil: number };

/**
 * Sends an approved draft to Jira at most once, whatever happens: client retries, concurrent senders, edits
 * racing the send, decisions changing between attempts, Jira slow, hanging, failing or losing its answer,
 * or this process dying mid-send.
 *
 * One transaction (the draft's row locked) decides every step: it re-checks that the approval in force is
 * for exactly the stored content, freezes the draft (edits are refused from then on), and records which
 * attempt owns the send and until when its request could still land. The request is built from that one
 * frozen snapshot, so what Jira receives is what was approved. An attempt whose outcome is unknown blocks
 * every other until its landing window has passed; the next attempt then searches Jira for the issue (its
 * `gatehouse` property names this draft and content hash) before anything could be filed again.
 */
export class Sends {
  private readonly store: Store;
  private readonly jira: JiraGateway;
  private readonly settings: SendSettings;

  constructor(store: Store, jira: JiraGateway, settings: SendSettings) {
    this.store = store;
    this.jira = jira;
    this.settings = settings;
  }

  /**
   * Settles any earlier attempt of this draft's send and says where it stands: sent (its result), or open
   * (the draft as it is now, for the approval check). Throws a ToolError while an attempt may still land.
   */
  async settle(ctx: Ctx, draftId: string): Promise<Settled> {
    for (let round = 0; round < 3; round++) {
      const step = await inTransaction(this.store, (trx) => this.settleStep(trx, draftId, ctx.deadline));
      if ("sent" in step || "open" in step) return step;
      if (step.kind === "wait") throw new ToolError(step.message);
      await this.reconcile(ctx, step.draft, step.attempt);
    }
    throw new ToolError(`the send of draft ${draftId} is busy; retry in a few seconds`);
  }

  /** Files the draft if the approval in force allows exactly its stored content; a filed draft replays. */
  async send(ctx: Ctx, draftId: string, approval: Approval | undefined, sender: string): Promise<SendResult> {
    for (let round = 0; round < 3; round++) {
      const settled = await this.settle(ctx, draftId);
      if ("sent" in settled) return settled.sent;
      if (!approval)
        throw new ToolError(`draft ${draftId} has no approval checked for this send; call again`);
      // Nothing is claimed for a caller whose time is already up: the draft would stay frozen for nothing.
      if (ctx.signal.aborted)
        throw new ToolError(`the call's time ran out before draft ${draftId} was sent; call again`);
      const claim = await inTransaction(this.store, (trx) =>
        this.claimStep(trx, draftId, approval, sender, ctx.deadline),
      );
      switch (claim.kind) {
        case "replay":
          return claim.result;
        case "wait":
        case "refused":
          throw new ToolError(claim.message);
        case "reconcile":
          await this.reconcile(ctx, claim.draft, claim.attempt);
          continue;
        case "file":
          return this.file(ctx, claim.draft, claim.attempt, claim.approval);
      }
    }
    throw new ToolError(`the send of draft ${draftId} is busy; retry in a few seconds`);
  }

  /**
   * Whether an attempt is sending this draft right now. A decision cannot stop it, so none is taken then;
   * once the attempt has ended (even with its outcome still unknown) a decision governs every later one.
   */
  async inFlight(draftId: string): Promise<boolean> {
    const row = await this.store.db
      .selectFrom("ticket_sends")
      .select(["state", "lease_until"])
      .where("draft_id", "=", draftId)
      .executeTakeFirst();
    return row?.state === "pending" && Date.parse(row.lease_until) > Date.now();
  }

  // ---- transactions: each decides one step with the draft's row locked, and never waits on Jira ----

  private async lockDraft(trx: StoreDb, draftId: string): Promise<Draft> {
    const row = await lockingRead(
      this.store,
      trx.selectFrom("ticket_drafts").selectAll().where("id", "=", draftId),
    ).executeTakeFirst();
    if (!row) throw new ToolError(`draft ${draftId} does not exist`, { code: "not_found" });
    return draftFromRow(row);
  }

  private sendRow(trx: StoreDb, draftId: string): Promise<TicketSendsTable | undefined> {
    return trx.selectFrom("ticket_sends").selectAll().where("draft_id", "=", draftId).executeTakeFirst();
  }

  private async settleStep(
    trx: StoreDb,
    draftId: string,
    deadline: number,
  ): Promise<Settled | Exclude<Claim, { kind: "file" | "replay" | "refused" }>> {
    const draft = await this.lockDraft(trx, draftId);
    const row = await this.sendRow(trx, draftId);
    if (row?.state === "sent" && row.jira_key) return { sent: await this.replay(trx, row) };
    if (!row || row.state === "failed") return { open: draft };
    // pending or unknown: an attempt owns the send, or its outcome has to be settled first.
    const now = Date.now();
    const until = Date.parse(row.lease_until);
    if (until > now) return { kind: "wait", message: waitMessage(draftId, row, until - now) };
    const attempt = newAttemptId();
    await trx
      .updateTable("ticket_sends")
      .set({
        state: "pending",
        attempt_id: attempt,
        // The search runs within the caller's time; if this process dies, the next caller takes over then.
        lease_until: new Date(Math.max(deadline, now + 1000)).toISOString(),
        updated_at: new Date(now).toISOString(),
      })
      .where("draft_id", "=", draftId)
      .execute();
    return { kind: "reconcile", draft, attempt };
  }

  private async claimStep(
    trx: StoreDb,
    draftId: string,
    approval: Approval,
    sender: string,
    deadline: number,
  ): Promise<Claim> {
    const settled = await this.settleStep(trx, draftId, deadline);
    if ("sent" in settled) return { kind: "replay", result: settled.sent };
    if (!("open" in settled)) return settled;
    const draft = settled.open;
    // The snapshot is re-hashed from its stored fields: the approval must name exactly this content.
    verifiedContent(draft);
    const usable = await approval.claim(trx, subjectOf(draft));
    const now = new Date();
    if (!usable.ok) {
      // Nothing is in flight: the draft may change again (its author can answer a rejection).
      if (draft.status === "sending") await this.setDraftStatus(trx, draftId, "draft", now);
      return { kind: "refused", message: usable.reason };
    }
    const attempt = newAttemptId();
    const values = {
      approval_id: usable.approval.id,
      content_hash: draft.contentHash,
      sender,
      state: "pending",
      attempt_id: attempt,
      // Covers a crash mid-request: the request is aborted by the deadline, and may land for the grace after.
      lease_until: new Date(deadline + this.settings.landingGraceMs).toISOString(),
      last_error: null,
      updated_at: now.toISOString(),
    };
    const existing = await this.sendRow(trx, draftId);
    if (existing) {
      await trx
        .updateTable("ticket_sends")
        .set((eb) => ({ ...values, attempts: eb("attempts", "+", 1) }))
        .where("draft_id", "=", draftId)
        .execute();
    } else {
      await trx
        .insertInto("ticket_sends")
        .values({ draft_id: draftId, ...values, jira_key: null, attempts: 1, started_at: now.toISOString() })
        .execute();
    }
    if (draft.status === "draft") await this.setDraftStatus(trx, draftId, "sending", now);
    return {
      kind: "file",
      draft: { ...draft, status: "sending" },
      attempt,
      approval: { id: usable.approval.id, approver: usable.approval.approver },
    };
  }

  /** Records how an attempt ended, if it still owns the send. A filed issue is recorded whoever owns it. */
  private async end(draftId: string, attempt: string, end: AttemptEnd): Promise<void> {
    await inTransaction(this.store, async (trx) => {
      await this.lockDraft(trx, draftId);
      const row = await this.sendRow(trx, draftId);
      if (!row || row.state === "sent") return;
      const now = new Date();
      if ("sent" in end) {
        await trx
          .updateTable("ticket_sends")
          .set({
            state: "sent",
            jira_key: end.sent,
            attempt_id: null,
            last_error: null,
            updated_at: now.toISOString(),
          })
          .where("draft_id", "=", draftId)
          .execute();
        await this.setDraftStatus(trx, draftId, "sent", now);
        return;
      }
      if (row.attempt_id !== attempt) return; // another attempt took over after our window: it decides
      if ("failed" in end) {
        await trx
          .updateTable("ticket_sends")
          .set({
            state: "failed",
            attempt_id: null,
            lease_until: now.toISOString(),
            last_error: end.failed,
            updated_at: now.toISOString(),
          })
          .where("draft_id", "=", draftId)
          .execute();
        await this.setDraftStatus(trx, draftId, "draft", now);
        return;
      }
      await trx
        .updateTable("ticket_sends")
        .set({
          state: "unknown",
          attempt_id: null,
          lease_until: new Date(end.mayLandUntil).toISOString(),
          last_error: end.unknown,
          updated_at: now.toISOString(),
        })
        .where("draft_id", "=", draftId)
        .execute();
    });
  }

  private async setDraftStatus(trx: StoreDb, draftId: string, status: Draft["status"], now: Date) {
    await trx
      .updateTable("ticket_drafts")
      .set({ status, updated_at: now.toISOString() })
      .where("id", "=", draftId)
      .execute();
  }

  private async replay(trx: StoreDb, row: TicketSendsTable): Promise<SendResult> {
    const approval = await trx
      .selectFrom("approvals")
      .select(["approver"])
      .where("id", "=", row.approval_id)
      .executeTakeFirst();
    return {
      jiraKey: row.jira_key!,
      replayed: true,
      approvalId: row.approval_id,
      approver: approval?.approver ?? null,
    };
  }

  // ---- Jira: outside any transaction ----

  /** Files the frozen snapshot. The request is aborted when the caller's time is up. */
  private async file(
    ctx: Ctx,
    draft: Draft,
    attempt: string,
    approval: { id: string; approver: string },
  ): Promise<SendResult> {
    const request = jiraRequestFor(draft);
    // What the latest request did. Only an answer proving nothing was applied lets the next call file at
    // once; anything else (no answer, a 5xx, garbage) may still have filed it, now or a little later.
    let last = "none sent" as "none sent" | "not applied" | "unknown";
    let key: string | undefined;
    let failure: unknown;
    try {
      const answer = await this.jira.call(
        ctx,
        request.operation === "add_comment" ? "comment.add" : "issue.create",
        async (client) => {
          last = "unknown";
          try {
            // Exactly the approved path and body, as one request (the gateway aborts it with the attempt).
            return await client.sendRequest<unknown>({
              url: request.path,
              method: "POST",
              body: request.body,
            });
          } catch (err) {
            if (provesNothingApplied(err)) last = "not applied";
            throw err;
          }
        },
        { idempotent: false },
      );
      key = filedKey(request, answer);
    } catch (err) {
      failure = err;
    }
    // Recorded outside any catch: a store failure here must never turn a filed issue into "failed". If it
    // throws, the row stays pending and the next call after its lease finds the issue in Jira.
    if (key !== undefined) {
      await this.end(draft.id, attempt, { sent: key });
      return { jiraKey: key, replayed: false, approvalId: approval.id, approver: approval.approver };
    }
    const message = failure instanceof ToolError ? failure.message : "Jira could not be reached.";
    if (last !== "unknown") {
      await this.end(draft.id, attempt, { failed: message });
      throw failure instanceof ToolError ? failure : new UpstreamError(message, undefined, false);
    }
    const mayLandUntil = Date.now() + this.settings.landingGraceMs;
    await this.end(draft.id, attempt, { unknown: message, mayLandUntil });
    const wait = Math.max(1, Math.ceil(this.settings.landingGraceMs / 1000));
    throw new ToolError(
      `${message} Jira may still file it until ${new Date(mayLandUntil).toISOString()}: call send_ticket again in ${wait} s, and it will find that ticket instead of filing a second one.`,
    );
  }

  /** Searches Jira for what an earlier attempt filed; records the answer; a failed search changes nothing. */
  private async reconcile(ctx: Ctx, draft: Draft, attempt: string): Promise<void> {
    let found: string | undefined;
    try {
      found = await this.findInJira(ctx, draft);
    } catch (err) {
      // Still unknown: the next caller may search again at once.
      const message = err instanceof ToolError ? err.message : "Jira could not be searched.";
      await this.end(draft.id, attempt, { unknown: message, mayLandUntil: Date.now() });
      throw new ToolError(
        `an earlier attempt to send draft ${draft.id} may have reached Jira, and Jira could not be searched to find out: ${message}`,
      );
    }
    await this.end(
      draft.id,
      attempt,
      found ? { sent: found } : { failed: "an earlier attempt did not reach Jira" },
    );
  }

  /**
   * The issue (or comment) an earlier attempt filed for exactly this snapshot, if any. An issue counts only
   * when its `gatehouse` property names this draft and content hash: a label alone can be put on any issue.
   */
  private async findInJira(ctx: Ctx, draft: Draft): Promise<string | undefined> {
    const request = jiraRequestFor(draft);
    if (request.operation === "add_comment") {
      const page: unknown = await this.jira.call(ctx, "comment.list", (c) =>
        c.issueComments.getComments({ issueIdOrKey: request.issueKey, orderBy: "-created", maxResults: 100 }),
      );
      // Only a readable list can show the comment is not there; anything else leaves the outcome unknown.
      const comments = (page as { comments?: unknown } | null)?.comments;
      if (!Array.isArray(comments)) throw new JiraUnreadableError(false);
      const marker = commentMarker(draft.id);
      return comments.some((c) =>
        JSON.stringify((c as { body?: unknown } | null)?.body ?? "").includes(marker),
      )
        ? request.issueKey
        : undefined;
    }
    const jql = withinProjects([draft.project], `labels = ${quoteJql(draftLabel(draft.id))}`);
    const res: unknown = await this.jira.call(ctx, "search.jql", (c) =>
      c.issueSearch.searchAndReconsileIssuesUsingJqlPost({
        jql,
        maxResults: 20,
        fields: ["summary"],
        properties: ["gatehouse"],
      }),
    );
    // Only a readable page can show the issue is not there; anything else leaves the outcome unknown.
    const issues = (res as { issues?: unknown } | null)?.issues;
    if (!Array.isArray(issues)) throw new JiraUnreadableError(false);
    const found = (issues as Array<FoundIssue | null>).find(
      (i) =>
        i?.properties?.gatehouse?.draftId === draft.id &&
        i.properties.gatehouse.contentHash === draft.contentHash,
    )?.key;
    return typeof found === "string" ? found : undefined;
  }
}

/** The approval subject of a draft as stored: exactly what an approval must name. */
export function subjectOf(d: Draft): ApprovalSubject {
  return {
    subjectType: SUBJECT_TYPE,
    id: d.id,
    tenant: d.tenant,
    owner: d.createdBy,
    authors: d.authors,
    contentHash: d.contentHash,
    ...(d.status === "sent" ? { closed: "was already sent" } : {}),
  };
}

/**
 * Whether an error proves Jira applied nothing: the request never left (connection refused, no such host),
 * or Jira refused it (a 4xx but 408, or 503 Service Unavailable). A 500, 502 or 504, a timeout or a dropped
 * connection proves nothing.
 */
function provesNothingApplied(err: unknown): boolean {
  const e = err as { status?: unknown; code?: unknown; cause?: { code?: unknown } } | null;
  const status = e?.status;
  if (typeof status === "number") return (status >= 400 && status < 500 && status !== 408) || status === 503;
  const code = e?.code ?? e?.cause?.code;
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN";
}

/** An issue as the reconciling search reads it (used unvalidated if Jira's answer drifted from jira.js's schema). */
interface FoundIssue {
  key?: unknown;
  properties?: { gatehouse?: { draftId?: unknown; contentHash?: unknown } };
}

/** The key of what Jira filed, from its answer to the POST. */
function filedKey(request: JiraRequest, answer: unknown): string {
  if (request.operation === "add_comment") return request.issueKey;
  const key = (answer as { key?: unknown } | null)?.key;
  // An answer that cannot be read at all fails the call in the gateway (JiraUnreadableError, outcome unknown);
  // JSON without an issue key is no better: Jira may have filed the issue, so this is an unknown outcome (with
  // an answer), settled by reconciliation on the next attempt.
  if (typeof key !== "string") throw new JiraUnreadableError(true);
  return key;
}

const newAttemptId = () => `att_${randomUUID()}`;

function waitMessage(draftId: string, row: TicketSendsTable, ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return row.state === "unknown"
    ? `an earlier attempt to send draft ${draftId} may still be filed by Jira until ${row.lease_until} (${row.last_error ?? "no answer"}); call send_ticket again in ${seconds} s, and it will find that ticket instead of filing a second one`
    : `a send of draft ${draftId} is in progress; call send_ticket again in ${seconds} s to get its result`;
}
