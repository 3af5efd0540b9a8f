import type { Store } from "@gatehouse/store";

/**
 * Per-tool kill switches kept in the shared store, so `gatehouse killswitch on <tool>` stops a tool in
 * every running process without a restart. Reads are cached briefly to keep them off the hot path.
 */
export class KillSwitches {
  private cache: { at: number; killed: Map<string, string | null> } | undefined;

  private readonly store: Store;
  private readonly ttlMs: number;

  constructor(store: Store, ttlMs = 1000) {
    this.store = store;
    this.ttlMs = ttlMs;
  }

  /** The reason when `server/tool` or bare `tool` is switched off; undefined when it may run. */
  async check(
    server: string,
    tool: string,
  ): Promise<{ killed: true; reason: string | null } | { killed: false }> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at >= this.ttlMs) {
      const rows = await this.store.db
        .selectFrom("kill_switches")
        .select(["tool", "reason"])
        .where("enabled", "=", 1)
        .execute();
      this.cache = { at: now, killed: new Map(rows.map((r) => [r.tool, r.reason])) };
    }
    for (const key of [`${server}/${tool}`, tool]) {
      if (this.cache.killed.has(key)) return { killed: true, reason: this.cache.killed.get(key) ?? null };
    }
    return { killed: false };
  }

  async set(tool: string, enabled: boolean, by: string, reason?: string): Promise<void> {
    const row = {
      tool,
      enabled: enabled ? 1 : 0,
      reason: reason ?? null,
      updated_by: by,
      updated_at: new Date().toISOString(),
    };
    await this.store.db
      .insertInto("kill_switches")
      .values(row)
      .onConflict((oc) =>
        oc.column("tool").doUpdateSet({
          enabled: row.enabled,
          reason: row.reason,
          updated_by: by,
          updated_at: row.updated_at,
        }),
      )
      .execute();
    this.cache = undefined;
  }

  async list() {
    return this.store.db.selectFrom("kill_switches").selectAll().orderBy("tool").execute();
  }
}
