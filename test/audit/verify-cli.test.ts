import { AuditLog } from "@gatehouse/governance";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeMatrix } from "../setup/stores.ts";
import { runCli } from "../support/cli.ts";

const alice = {
  user: "alice",
  roles: ["support_agent"],
  tenant: "emea",
  client: "test",
  env: "dev",
  tokenId: "jti-1",
  scopes: ["orders:read"],
};

describe.each(storeMatrix())("gatehouse audit verify ($storeKind store)", (store) => {
  let env: TestEnvironment;
  let cliEnv: Record<string, string>;

  beforeEach(async () => {
    env = await createTestEnvironment(store);
    cliEnv = { GATEHOUSE_DATA_DIR: env.dataDir, DATABASE_URL: env.env.DATABASE_URL ?? "" };
    const log = new AuditLog(env.store);
    for (let i = 0; i < 6; i++) {
      await log.append({
        type: i % 2 === 0 ? "tool.requested" : "tool.completed",
        server: "order-lookup",
        tool: "get_order",
        identity: alice,
        args: { order_id: `SO-10000${i}` },
        correlationId: `corr-${Math.floor(i / 2)}`,
        traceId: "0".repeat(31) + String(i % 10),
        spanId: "1".repeat(15) + String(i % 10),
      });
    }
  });

  afterEach(async () => {
    await env?.close();
  });

  it("reports an intact chain with its head", () => {
    const r = runCli(["audit", "verify"], cliEnv);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^audit chain intact: 6 events, head #6 [0-9a-f]{64}$/m);
  });

  it("catches an edited event and names it", async () => {
    await env.store.db
      .updateTable("audit_events")
      .set({ args: '{"order_id":"SO-999999"}' })
      .where("seq", "=", 3)
      .execute();
    const r = runCli(["audit", "verify"], cliEnv);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("audit chain BROKEN at event #3");
    expect(r.stderr).toContain("edited");
  });

  it("catches a deleted event", async () => {
    await env.store.db.deleteFrom("audit_events").where("seq", "=", 4).execute();
    const r = runCli(["audit", "verify"], cliEnv);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("audit chain BROKEN at event #5");
    expect(r.stderr).toContain("deleted");
  });

  it("catches reordered events", async () => {
    // Swap events 2 and 3 by renumbering them through a spare sequence number.
    await env.store.db.updateTable("audit_events").set({ seq: 1000 }).where("seq", "=", 2).execute();
    await env.store.db.updateTable("audit_events").set({ seq: 2 }).where("seq", "=", 3).execute();
    await env.store.db.updateTable("audit_events").set({ seq: 3 }).where("seq", "=", 1000).execute();
    const r = runCli(["audit", "verify"], cliEnv);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("audit chain BROKEN at event #2");
  });

  it("catches an edit whose author recomputed the event's own hash", async () => {
    const { hashRecord } = await import("@gatehouse/governance");
    const row = await env.store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 3)
      .executeTakeFirstOrThrow();
    const { hash: _old, ...rest } = { ...row, user_id: "mallory" };
    await env.store.db
      .updateTable("audit_events")
      .set({ user_id: "mallory", hash: hashRecord(rest) })
      .where("seq", "=", 3)
      .execute();
    const r = runCli(["audit", "verify"], cliEnv);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("audit chain BROKEN at event #4");
  });

  it("traces one correlation id", () => {
    const r = runCli(["audit", "trace", "corr-1"], cliEnv);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("correlation corr-1");
    expect(r.stdout.match(/get_order/g)?.length).toBe(2);
  });
});
