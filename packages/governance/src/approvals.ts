import { randomUUID } from "node:crypto";
import type { ApprovalsTable, Store, StoreDb } from "@gatehouse/store";
import type { Identity } from "./identity.ts";
import type { PolicyEngine, SubjectResource } from "./policy-engine.ts";

/** What is to be approved: one subject (a draft) in exactly one version (its content hash). */
export interface ApprovalSubject extends SubjectResource {
  contentHash: string;
  /** Set when nothing can be decided any more (e.g. "it was sent as SUP-12"). */
  closed?: string;
}

export type ApprovalRecord = ApprovalsTable;

export class ApprovalError extends Error {
  readonly policyIds: string[];
  /** 403: this person may not decide · 409: the subject or its decisions changed; review again. */
  readonly status: 403 | 409;

  constructor(message: string, policyIds: string[] = [], status: 403 | 409 = 403) {
    super(message);
    this.policyIds = policyIds;
    this.status = status;
    this.name = "ApprovalError";
  }
}

export type UsableApproval = { ok: true; approval: ApprovalRecord } | { ok: false; reason: string };

const UNIQUE = /UNIQUE constraint failed|duplicate key value/;

/**
 * Server-side approvals: granted by a person with the approver role in the same tenant who wrote none of
 * the content (decided by Cedar, four eyes over every author), bound to the SHA-256 of exactly the content
 * approved, expiring. Decisions on a subject are numbered: the latest one is in force, a decision must
 * name the one it follows (so a replayed request cannot re-decide), and a rejection is final for that
 * content. A changed draft has a new hash, so every earlier decision stops matching.
 */
export class Approvals {
  private readonly store: Store;
  private readonly policy: PolicyEngine;
  private readonly ttlSeconds: number;

  constructor(store: Store, policy: PolicyEngine, ttlSeconds = 3600) {
    this.store = store;
    this.policy = policy;
    this.ttlSeconds = ttlSeconds;
  }

  /** The decision in force on a subject (the latest), if any. */
  latest(
    subject: Pick<ApprovalSubject, "subjectType" | "id">,
    db: StoreDb = this.store.db,
  ): Promise<ApprovalRecord | undefined> {
    return db
      .selectFrom("approvals")
      .selectAll()
      .where("subject_type", "=", subject.subjectType)
      .where("subject_id", "=", subject.id)
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * Records an approver's decision on the content they saw (`seenHash`), following the decision they saw
   * (`previous`: its id, or null when there was none).
   */
  async decide(
    subject: ApprovalSubject,
    approver: Identity,
    decision: "approved" | "rejected",
    seenHash: string,
    previous: string | null,
    reason?: string,
  ): Promise<ApprovalRecord> {
    const what = `${subject.subjectType} ${subject.id}`;
    if (subject.closed)
      throw new ApprovalError(`${what} ${subject.closed}; there is nothing to decide`, [], 409);
    if (seenHash !== subject.contentHash) {
      throw new ApprovalError(
        `${what} changed since you reviewed it (hash ${seenHash.slice(0, 12)}… is not the current ${subject.contentHash.slice(0, 12)}…); review it again`,
        [],
        409,
      );
    }
    const verdict = this.policy.decide({
      action: "approve",
      identity: approver,
      subject,
      targetTenant: subject.tenant,
    });
    if (!verdict.allow) {
      const why = verdict.policyIds.includes("approvals.four-eyes")
        ? `you wrote ${what}; someone else must approve it (four eyes)`
        : `you may not approve ${subject.subjectType}s of tenant ${subject.tenant} (needs the approver role in that tenant and the tickets:approve scope)`;
      throw new ApprovalError(why, verdict.policyIds);
    }
    const latest = await this.latest(subject);
    if ((latest?.id ?? null) !== previous) {
      throw new ApprovalError(
        latest
          ? `${what} was decided since you reviewed it (now ${describe(latest)}); review it again`
          : `${what} has no decision ${previous}; review it again`,
        [],
        409,
      );
    }
    const rejected = await this.rejectionOf(subject);
    if (rejected) {
      throw new ApprovalError(
        `${what} was rejected by ${rejected.approver}; a rejection is final for this content, so its author must change it first`,
        [],
        409,
      );
    }
    const now = new Date();
    const record: ApprovalRecord = {
      id: `apr_${randomUUID()}`,
      subject_type: subject.subjectType,
      subject_id: subject.id,
      content_hash: subject.contentHash,
      tenant: subject.tenant,
      decision,
      approver: approver.user,
      reason: reason ?? null,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + this.ttlSeconds * 1000).toISOString(),
      used_at: null,
      used_by: null,
      seq: (latest?.seq ?? 0) + 1,
    };
    try {
      await this.store.db.insertInto("approvals").values(record).execute();
    } catch (err) {
      // Another decision took this place in the order a moment earlier: ours was based on a stale view.
      if (UNIQUE.test(String((err as Error).message)))
        throw new ApprovalError(`${what} was decided by someone else just now; review it again`, [], 409);
      throw err;
    }
    return record;
  }

  /** A rejection of exactly this content, whenever it was made: final, even after decisions on other content. */
  private rejectionOf(subject: ApprovalSubject, db: StoreDb = this.store.db) {
    return db
      .selectFrom("approvals")
      .select(["id", "approver"])
      .where("subject_type", "=", subject.subjectType)
      .where("subject_id", "=", subject.id)
      .where("content_hash", "=", subject.contentHash)
      .where("decision", "=", "rejected")
      .executeTakeFirst();
  }

  /**
   * The approval a send by `sender` may use now (without a sender: whether one is in force at all): the
   * latest decision on the subject, an approval of exactly this content, unexpired, by none of its authors.
   */
  async usableFor(
    subject: ApprovalSubject,
    sender?: Pick<Identity, "user">,
    db: StoreDb = this.store.db,
  ): Promise<UsableApproval> {
    const latest = await this.latest(subject, db);
    const what = `${subject.subjectType} ${subject.id}`;
    if (!latest)
      return { ok: false, reason: `${what} has not been approved; an approver must approve it first` };
    if (latest.content_hash !== subject.contentHash)
      return {
        ok: false,
        reason: `${what} changed after it was ${latest.decision}; it needs a new approval`,
      };
    if (latest.decision === "rejected")
      return {
        ok: false,
        reason: `${what} was rejected by ${latest.approver}${latest.reason ? `: ${latest.reason}` : ""}`,
      };
    if (latest.expires_at <= new Date().toISOString())
      return {
        ok: false,
        reason: `the approval of ${what} expired at ${latest.expires_at}; it needs a new approval`,
      };
    // Defence in depth: the rules Cedar checked at approval time must still hold for this send.
    if (latest.approver === subject.owner || (subject.authors ?? []).includes(latest.approver))
      return {
        ok: false,
        reason: `${latest.approver} wrote part of ${what} and cannot approve it (four eyes); it needs a new approval`,
      };
    if (sender && latest.approver === sender.user)
      return {
        ok: false,
        reason: `${sender.user} approved this ${subject.subjectType}; someone else must send it`,
      };
    if (latest.tenant !== subject.tenant)
      return { ok: false, reason: "the approval belongs to another tenant" };
    return { ok: true, approval: latest };
  }

  /**
   * The authoritative check of a send, run inside the transaction that freezes the subject: the approval the
   * pipeline checked must still be the one in force for exactly this snapshot. Records its use.
   */
  async claim(
    db: StoreDb,
    approvalId: string,
    subject: ApprovalSubject,
    sender: Pick<Identity, "user">,
  ): Promise<UsableApproval> {
    const usable = await this.usableFor(subject, sender, db);
    if (!usable.ok) return usable;
    if (usable.approval.id !== approvalId)
      return {
        ok: false,
        reason: `the decision on ${subject.subjectType} ${subject.id} changed during this call; call again`,
      };
    if (!usable.approval.used_at) {
      await db
        .updateTable("approvals")
        .set({ used_at: new Date().toISOString(), used_by: sender.user })
        .where("id", "=", approvalId)
        .where("used_at", "is", null)
        .execute();
    }
    return usable;
  }
}

function describe(d: ApprovalRecord): string {
  return `${d.decision} by ${d.approver} as ${d.id}`;
}
