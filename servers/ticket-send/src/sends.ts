import { type ToolContext, ToolError, Upstream, UpstreamError } from "@gatehouse/kit";
import type { Store } from "@gatehouse/store";
import {
  commentMarker,
  type Draft,
  type DraftsRepository,
  draftLabel,
  type JiraGateway,
  jiraRequestFor,
  quoteJql,
  withinProjects,
} from "@gatehouse/tickets";

type Ctx = Pick<ToolContext<unknown>, "annotate" | "signal">;
type Approval = NonNullable<ToolContext<unknown>["approval"]>;

const UNIQUE = /UNIQUE constraint failed|duplicate key value/;

/**
 * Sends a draft to Jira at most once, whatever happens: client retries, concurrent sends, Jira timing
 * out after it filed the issue, or this process dying between Jira's answer and the commit.
 *
 * The intent is recorded first (one row per draft: the primary key admits one), with a lease. Whoever
 * holds the lease sends; the issue carries the draft's label, so after a lost answer or a crash the next
 * attempt (once the lease has lapsed) searches Jira for it before it would ever file again.
 */
export class Sends {
  constructor(
    private readonly store: Store,
    private readonly drafts: DraftsRepository,
    private readonly jira: JiraGateway,
    private readonly leaseMs: number,
  ) {}

  async send(
    ctx: Ctx,
    draft: Draft,
    approval: Approval,
    sender: string,
  ): Promise<{ jiraKey: string; replayed: boolean }> {
    const existing = await this.row(draft.id);
    if (existing?.state === "sent" && existing.jira_key)
      return { jiraKey: existing.jira_key, replayed: true };

    let owned = false;
    if (!existing) owned = await this.recordIntent(draft, approval, sender);
    if (!owned) {
      const row = await this.row(draft.id);
      if (row?.state === "sent" && row.jira_key) return { jiraKey: row.jira_key, replayed: true };
      if (!row || !(await this.takeOverLapsedLease(draft.id, row.lease_until))) {
        throw new ToolError(
          `a send of draft ${draft.id} is in progress; retry in a few seconds to get its result`,
        );
      }
      // An earlier attempt may have filed it and lost the answer (or died): look before filing.
      const found = await this.findInJira(ctx, draft);
      if (found) {
        await this.markSent(draft.id, found);
        return { jiraKey: found, replayed: true };
      }
    }

    try {
      const key = await this.file(ctx, draft);
      await this.markSent(draft.id, key);
      return { jiraKey: key, replayed: false };
    } catch (err) {
      // Let the next attempt in at once: it reconciles before it files.
      await this.store.db
        .updateTable("ticket_sends")
        .set({ lease_until: new Date().toISOString(), updated_at: new Date().toISOString() })
        .where("draft_id", "=", draft.id)
        .execute();
      if (Upstream.outcomeUnknown(err)) {
        throw new ToolError(
          `${(err as Error).message} Jira may have filed it: call send_ticket again, and it will find that ticket instead of filing a second one.`,
        );
      }
      throw err;
    }
  }

  private row(draftId: string) {
    return this.store.db
      .selectFrom("ticket_sends")
      .selectAll()
      .where("draft_id", "=", draftId)
      .executeTakeFirst();
  }

  private async recordIntent(draft: Draft, approval: Approval, sender: string): Promise<boolean> {
    const now = new Date();
    try {
      await this.store.db
        .insertInto("ticket_sends")
        .values({
          draft_id: draft.id,
          approval_id: approval.id,
          content_hash: draft.contentHash,
          sender,
          state: "pending",
          jira_key: null,
          attempts: 1,
          lease_until: new Date(now.getTime() + this.leaseMs).toISOString(),
          started_at: now.toISOString(),
          updated_at: now.toISOString(),
        })
        .execute();
    } catch (err) {
      if (UNIQUE.test(String((err as Error).message))) return false;
      throw err;
    }
    // Single use: this send is the approval's one use.
    if (!approval.replay && !(await approval.consume()))
      throw new ToolError("the approval was used by another send; ask for a new approval");
    return true;
  }

  private async takeOverLapsedLease(draftId: string, leaseUntil: string): Promise<boolean> {
    const now = new Date();
    if (leaseUntil > now.toISOString()) return false;
    const res = await this.store.db
      .updateTable("ticket_sends")
      .set((eb) => ({
        lease_until: new Date(now.getTime() + this.leaseMs).toISOString(),
        attempts: eb("attempts", "+", 1),
        updated_at: now.toISOString(),
      }))
      .where("draft_id", "=", draftId)
      .where("state", "=", "pending")
      .where("lease_until", "=", leaseUntil)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  private async markSent(draftId: string, jiraKey: string): Promise<void> {
    await this.store.db
      .updateTable("ticket_sends")
      .set({ state: "sent", jira_key: jiraKey, updated_at: new Date().toISOString() })
      .where("draft_id", "=", draftId)
      .execute();
    await this.drafts.markSent(draftId);
  }

  /** Files the issue or comment. Not idempotent by itself, so only a 429 is retried inside. */
  private async file(ctx: Ctx, draft: Draft): Promise<string> {
    const request = jiraRequestFor(draft);
    if (request.operation === "add_comment") {
      await this.jira.call(
        ctx,
        "comment.add",
        (c) =>
          c.issueComments.addComment({ issueIdOrKey: request.issueKey, comment: request.body.body as never }),
        { idempotent: false },
      );
      return request.issueKey;
    }
    const created: unknown = await this.jira.call(
      ctx,
      "issue.create",
      (c) => c.issues.createIssue(request.body as never),
      { idempotent: false },
    );
    const key = (created as { key?: unknown } | null)?.key;
    // jira.js hands back an unreadable body as a string instead of throwing: Jira may have filed the
    // issue, so this is an unknown outcome, settled by reconciliation on the next attempt.
    if (typeof key !== "string")
      throw new UpstreamError("Jira answered something unreadable.", undefined, true);
    return key;
  }

  /** The issue (or comment) an earlier attempt filed for this draft, if any. */
  private async findInJira(ctx: Ctx, draft: Draft): Promise<string | undefined> {
    const request = jiraRequestFor(draft);
    if (request.operation === "add_comment") {
      const page = (await this.jira.call(ctx, "comment.list", (c) =>
        c.issueComments.getComments({ issueIdOrKey: request.issueKey, maxResults: 100 }),
      )) as {
        comments?: Array<{ body?: unknown }>;
      };
      const marker = commentMarker(draft.id);
      return (page.comments ?? []).some((c) => JSON.stringify(c.body ?? "").includes(marker))
        ? request.issueKey
        : undefined;
    }
    const jql = withinProjects([draft.project], `labels = ${quoteJql(draftLabel(draft.id))}`);
    const res = (await this.jira.call(ctx, "search.jql", (c) =>
      c.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost({ jql, maxResults: 2, fields: ["summary"] }),
    )) as {
      issues?: Array<{ key?: string }>;
    };
    return res.issues?.[0]?.key;
  }
}
