import { randomBytes } from "node:crypto";
import { ToolError } from "@gatehouse/kit";
import type { Store } from "@gatehouse/store";
import {
  contentHash,
  contentOf,
  type Draft,
  type DraftContent,
  type DraftStatus,
  draftFromRow,
} from "./draft.ts";

/** The stored columns of a draft's content. */
function contentColumns(content: DraftContent) {
  return {
    project: content.project,
    issue_type: content.issueType,
    summary: content.summary,
    description: content.description,
    priority: content.priority,
    labels: JSON.stringify(content.labels),
    customer_id: content.customerId,
    order_id: content.orderId,
    comment_on: content.commentOn,
  };
}

const newDraftId = () => `dr_${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;

/** Ticket drafts in Gatehouse's store. Drafting never touches Jira. */
export class DraftsRepository {
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  async create(tenant: string, author: string, content: DraftContent): Promise<Draft> {
    const id = newDraftId();
    const now = new Date().toISOString();
    const row = {
      id,
      tenant,
      ...contentColumns(content),
      content_hash: contentHash(id, content),
      version: 1,
      status: "draft",
      authors: JSON.stringify([author]),
      created_by: author,
      updated_by: author,
      created_at: now,
      updated_at: now,
    };
    await this.store.db.insertInto("ticket_drafts").values(row).execute();
    return draftFromRow(row);
  }

  async get(id: string): Promise<Draft | undefined> {
    const row = await this.store.db
      .selectFrom("ticket_drafts")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? draftFromRow(row) : undefined;
  }

  async require(id: string): Promise<Draft> {
    const d = await this.get(id);
    if (!d) throw new ToolError(`draft ${id} does not exist`, { code: "not_found" });
    return d;
  }

  /**
   * A new version: a new hash, so every earlier approval stops matching, and the editor joins the authors
   * (none of whom may approve it). Only a draft nobody is sending can change: a send freezes it first.
   */
  async update(id: string, editor: string, patch: Partial<DraftContent>): Promise<Draft> {
    const current = await this.require(id);
    if (current.status === "sent")
      throw new ToolError(`draft ${id} was already sent and can no longer change`);
    if (current.status === "sending") throw new ToolError(beingSent(id));
    const content = {
      ...contentOf(current),
      ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)),
    } as DraftContent;
    const hash = contentHash(id, content);
    // Nothing changed: no new version, and nobody becomes an author of text they did not write.
    if (hash === current.contentHash) return current;
    const authors = current.authors.includes(editor) ? current.authors : [...current.authors, editor];
    const res = await this.store.db
      .updateTable("ticket_drafts")
      .set({
        ...contentColumns(content),
        content_hash: hash,
        authors: JSON.stringify(authors),
        version: current.version + 1,
        updated_by: editor,
        updated_at: new Date().toISOString(),
      })
      .where("id", "=", id)
      .where("version", "=", current.version)
      .where("status", "=", "draft")
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) {
      const now = await this.require(id);
      if (now.status === "sending") throw new ToolError(beingSent(id));
      if (now.status === "sent") throw new ToolError(`draft ${id} was already sent and can no longer change`);
      throw new ToolError(`draft ${id} changed while you edited it; get it again`);
    }
    return this.require(id);
  }

  async list(
    tenant: string,
    status: DraftStatus | undefined,
    limit: number,
    after?: string,
  ): Promise<{ drafts: Draft[]; next: string | null }> {
    let q = this.store.db.selectFrom("ticket_drafts").selectAll().where("tenant", "=", tenant);
    if (status) q = q.where("status", "=", status);
    if (after) q = q.where("id", ">", after);
    const rows = await q
      .orderBy("id")
      .limit(limit + 1)
      .execute();
    const drafts = rows.slice(0, limit).map(draftFromRow);
    return { drafts, next: rows.length > limit ? (drafts[drafts.length - 1]?.id ?? null) : null };
  }
}

const beingSent = (id: string) =>
  `draft ${id} is being sent and cannot change now; if that send ends without filing it (send_ticket settles an earlier attempt), it can change again`;
