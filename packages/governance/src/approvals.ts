import { randomUUID } from "node:crypto";
import type { ApprovalsTable, Store } from "@gatehouse/store";
import type { Identity } from "./identity.ts";
import type { PolicyEngine, SubjectResource } from "./policy-engine.ts";

/** What is to be approved: one subject (a draft) in exactly one version (its content hash). */
export interface ApprovalSubject extends SubjectResource {
  contentHash: string;
}

export type ApprovalRecord = ApprovalsTable;

export class ApprovalError extends Error {
  constructor(
    message: string,
    readonly policyIds: string[] = [],
  ) {
    super(message);
    this.name = "ApprovalError";
  }
}

export type UsableApproval =
  | { ok: true; approval: ApprovalRecord; replay: boolean }
  | { ok: false; reason: string };

/**
 * Server-side approvals: granted by a different person with the approver role in the same tenant
 * (decided by Cedar, four-eyes included), bound to the SHA-256 of exactly the content approved,
 * expiring, and single use. A changed draft has a new hash, so any earlier approval stops matching.
 */
export class Approvals {
  constructor(
    private readonly store: Store,
    private readonly policy: PolicyEngine,
    private readonly ttlSeconds = 3600,
  ) {}

  /** Records an approver's decision on the content they saw (`seenHash`). */
  async decide(
    subject: ApprovalSubject,
    approver: Identity,
    decision: "approved" | "rejected",
    seenHash: string,
    reason?: string,
  ): Promise<ApprovalRecord> {
    if (seenHash !== subject.contentHash) {
      throw new ApprovalError(
        `${subject.subjectType} ${subject.id} changed since you reviewed it (hash ${seenHash.slice(0, 12)}… is not the current ${subject.contentHash.slice(0, 12)}…); review it again`,
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
        ? `you wrote ${subject.subjectType} ${subject.id}; someone else must approve it (four eyes)`
        : `you may not approve ${subject.subjectType}s of tenant ${subject.tenant} (needs the approver role in that tenant and the tickets:approve scope)`;
      throw new ApprovalError(why, verdict.policyIds);
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
    };
    await this.store.db.insertInto("approvals").values(record).execute();
    return record;
  }

  /**
   * The approval a send by `sender` may use now (without a sender: whether one is in force at all). A send already made with an approval (a client retry) replays
   * with it even after expiry, so retries stay idempotent instead of asking for a new approval.
   */
  async usableFor(subject: ApprovalSubject, sender?: Identity): Promise<UsableApproval> {
    const rows = await this.store.db
      .selectFrom("approvals")
      .selectAll()
      .where("subject_type", "=", subject.subjectType)
      .where("subject_id", "=", subject.id)
      .orderBy("created_at", "desc")
      .execute();
    const forThisContent = rows.filter((r) => r.content_hash === subject.contentHash);
    const used = forThisContent.find((r) => r.decision === "approved" && r.used_at);
    if (used) return { ok: true, approval: used, replay: true };
    const latest = forThisContent[0];
    if (!latest) {
      return rows.length
        ? {
            ok: false,
            reason: `${subject.subjectType} ${subject.id} changed after it was approved; it needs a new approval`,
          }
        : {
            ok: false,
            reason: `${subject.subjectType} ${subject.id} has not been approved; an approver must approve it first`,
          };
    }
    if (latest.decision === "rejected")
      return {
        ok: false,
        reason: `${subject.subjectType} ${subject.id} was rejected by ${latest.approver}${latest.reason ? `: ${latest.reason}` : ""}`,
      };
    if (latest.expires_at <= new Date().toISOString())
      return {
        ok: false,
        reason: `the approval of ${subject.subjectType} ${subject.id} expired at ${latest.expires_at}; it needs a new approval`,
      };
    // Defence in depth: the rules Cedar checked at approval time must still hold for this send.
    if (latest.approver === subject.owner)
      return { ok: false, reason: "the approval was given by the author (four eyes)" };
    if (sender && latest.approver === sender.user)
      return {
        ok: false,
        reason: `${sender.user} approved this ${subject.subjectType}; someone else must send it`,
      };
    if (latest.tenant !== subject.tenant)
      return { ok: false, reason: "the approval belongs to another tenant" };
    return { ok: true, approval: latest, replay: false };
  }

  /** Marks an approval used; false when another send used it first (single use). */
  async consume(approvalId: string, sender: string): Promise<boolean> {
    const res = await this.store.db
      .updateTable("approvals")
      .set({ used_at: new Date().toISOString(), used_by: sender })
      .where("id", "=", approvalId)
      .where("used_at", "is", null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
