import { randomUUID } from "node:crypto";
import type { RevocationsTable, Store } from "@gatehouse/store";
import type { Identity } from "./identity.ts";

/** What can be revoked: a person (the token's `sub`), a client (its `client_id`) or one token (its `jti`). */
export const REVOCATION_KINDS = ["subject", "client", "token"] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

export interface Revocation {
  id: string;
  kind: RevocationKind;
  value: string;
  reason: string;
  revokedBy: string;
  revokedAt: string;
}

/** Identifiers an operator may revoke: what issuers put in sub, client_id and jti, nothing unprintable. */
const REVOCABLE_VALUE = /^[\x21-\x7e]{1,256}$/;

export class RevocationInputError extends Error {}

/** The reason a revocation request is malformed, or undefined when it may be stored. */
export function revocationProblem(input: { kind: unknown; value: unknown; reason: unknown; by: unknown }) {
  if (!REVOCATION_KINDS.includes(input.kind as RevocationKind))
    return `kind must be one of ${REVOCATION_KINDS.join(", ")} (got ${JSON.stringify(String(input.kind)).slice(0, 40)})`;
  if (typeof input.value !== "string" || !REVOCABLE_VALUE.test(input.value))
    return `the ${input.kind === "subject" ? "person" : input.kind} to revoke must be 1-256 printable characters without spaces`;
  if (typeof input.reason !== "string" || input.reason.trim().length === 0)
    return "a revocation needs a reason (who asked, and why)";
  if (input.reason.length > 500) return "the reason is longer than 500 characters";
  if (typeof input.by !== "string" || input.by.length === 0)
    return "a revocation needs the operator who made it";
  return undefined;
}

const fromRow = (r: RevocationsTable): Revocation => ({
  id: r.id,
  kind: r.kind as RevocationKind,
  value: r.value,
  reason: r.reason,
  revokedBy: r.revoked_by,
  revokedAt: r.revoked_at,
});

/**
 * The revocation list in the shared store: `gatehouse revoke` (or the console) adds to it, and every
 * server's pipeline refuses a revoked person's, client's or token's calls at the identity stage. Reads are
 * cached for at most `ttlMs` (like kill switches), so a revocation reaches every process within that time
 * plus one call; the verified-token cache does not matter, since this is checked after it on every call.
 */
export class Revocations {
  private cache: { at: number; byKey: Map<string, Revocation> } | undefined;
  private loading: Promise<Map<string, Revocation>> | undefined;

  private readonly store: Store;
  private readonly ttlMs: number;

  constructor(store: Store, ttlMs = 1000) {
    this.store = store;
    this.ttlMs = ttlMs;
  }

  /** The revocation that covers this identity (its person first, then its client, then its token), if any. */
  async check(identity: Pick<Identity, "user" | "client" | "tokenId">): Promise<Revocation | undefined> {
    const byKey = await this.current();
    return (
      byKey.get(`subject\u0000${identity.user}`) ??
      byKey.get(`client\u0000${identity.client}`) ??
      byKey.get(`token\u0000${identity.tokenId}`)
    );
  }

  private async current(): Promise<Map<string, Revocation>> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < this.ttlMs) return this.cache.byKey;
    // Concurrent calls share one read; a failed read is not cached, so the next call tries again.
    this.loading ??= this.store.db
      .selectFrom("revocations")
      .selectAll()
      .execute()
      .then((rows) => {
        const byKey = new Map(rows.map((r) => [`${r.kind}\u0000${r.value}`, fromRow(r)]));
        this.cache = { at: now, byKey };
        return byKey;
      })
      .finally(() => {
        this.loading = undefined;
      });
    return this.loading;
  }

  /**
   * Adds a revocation. Revoking what is already revoked keeps the first one (who, why, when) and says so.
   * Throws RevocationInputError, naming the problem, for a malformed request; nothing is stored then.
   */
  async revoke(input: {
    kind: RevocationKind;
    value: string;
    reason: string;
    by: string;
  }): Promise<{ revocation: Revocation; created: boolean }> {
    const problem = revocationProblem(input);
    if (problem) throw new RevocationInputError(problem);
    const row: RevocationsTable = {
      id: `rev_${randomUUID()}`,
      kind: input.kind,
      value: input.value,
      reason: input.reason.trim(),
      revoked_by: input.by,
      revoked_at: new Date().toISOString(),
    };
    const inserted = await this.store.db
      .insertInto("revocations")
      .values(row)
      .onConflict((oc) => oc.columns(["kind", "value"]).doNothing())
      .executeTakeFirst();
    this.cache = undefined;
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0)
      return { revocation: fromRow(row), created: true };
    const existing = await this.store.db
      .selectFrom("revocations")
      .selectAll()
      .where("kind", "=", input.kind)
      .where("value", "=", input.value)
      .executeTakeFirstOrThrow();
    return { revocation: fromRow(existing), created: false };
  }

  /** Every revocation, newest first. */
  async list(): Promise<Revocation[]> {
    const rows = await this.store.db
      .selectFrom("revocations")
      .selectAll()
      .orderBy("revoked_at", "desc")
      .orderBy("id")
      .execute();
    return rows.map(fromRow);
  }
}
