import type { Store } from "@gatehouse/store";
import type { Identity } from "./identity.ts";

/** How often one process refreshes last_seen for the same person, client, server, transport and token. */
export const ACCESS_SEEN_REFRESH_MS = 60_000;
/** Keys remembered per process; past it the oldest are forgotten (and written again when next seen). */
const MAX_REMEMBERED = 10_000;

/**
 * Records who reaches this server through which client, transport and token, for the access inventory.
 * The first call of a combination inserts its row; after that a process refreshes last_seen at most once
 * a minute, so a busy agent costs one small write a minute, not one per call.
 */
export class AccessSeen {
  private readonly written = new Map<string, number>();
  private readonly store: Store;
  private readonly refreshMs: number;

  constructor(store: Store, refreshMs = ACCESS_SEEN_REFRESH_MS) {
    this.store = store;
    this.refreshMs = refreshMs;
  }

  /** Notes one admitted call; resolves at once when this combination was written less than a minute ago. */
  async record(identity: Identity, where: { server: string; transport: "http" | "stdio" }): Promise<void> {
    const key = [
      identity.user,
      identity.client,
      where.server,
      where.transport,
      identity.env,
      identity.tokenId,
    ].join("\u0000");
    const now = Date.now();
    const last = this.written.get(key);
    if (last !== undefined && now - last < this.refreshMs) return;
    this.written.delete(key);
    this.written.set(key, now);
    if (this.written.size > MAX_REMEMBERED) this.written.delete(this.written.keys().next().value as string);
    const seen = new Date(now).toISOString();
    try {
      await this.store.db
        .insertInto("access_seen")
        .values({
          user_id: identity.user,
          client_id: identity.client,
          server: where.server,
          transport: where.transport,
          env: identity.env,
          token_id: identity.tokenId,
          tenant: identity.tenant,
          token_expires_at:
            identity.expiresAt === undefined ? null : new Date(identity.expiresAt * 1000).toISOString(),
          first_seen: seen,
          last_seen: seen,
        })
        .onConflict((oc) =>
          oc
            .columns(["user_id", "client_id", "server", "transport", "env", "token_id"])
            .doUpdateSet({ last_seen: seen }),
        )
        .execute();
    } catch (err) {
      // Not written: try again on the next call rather than a minute later.
      this.written.delete(key);
      throw err;
    }
  }
}
