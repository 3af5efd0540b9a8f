import { randomUUID } from "node:crypto";
import { AuditLog, type AuditRecord, hashRecord } from "@gatehouse/governance";
import { createTestEnvironment, type TestEnvironment } from "@gatehouse/testing";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storeMatrix } from "../setup/stores.ts";
import { runCli } from "../support/cli.ts";

// An attacker with raw database access adds events numbered outside 1..head. The chain walk from #1
// never reaches them; `audit verify` must still name them, `audit trace` must not present them as part
// of the chain, and with the schema left intact the database refuses them in the first place.

describe.each(storeMatrix())("audit events numbered outside the chain ($storeKind store)", (store) => {
  let env: TestEnvironment;
  let cliEnv: Record<string, string>;

  beforeEach(async () => {
    env = await createTestEnvironment(store);
    cliEnv = { GATEHOUSE_DATA_DIR: env.dataDir, DATABASE_URL: env.env.DATABASE_URL ?? "" };
    const log = new AuditLog(env.store);
    for (let i = 0; i < 4; i++) {
      await log.append({
        type: "tool.completed",
        server: "order-lookup",
        tool: "get_order",
        args: { order_id: `SO-10000${i}` },
        outcome: "ok",
        correlationId: "corr-real",
        traceId: "a".repeat(32),
        spanId: "b".repeat(15) + String(i),
      });
    }
  });

  afterEach(async () => {
    await env?.close();
  });

  const forged = async (seq: number | null): Promise<AuditRecord> => {
    const template = await env.store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 1)
      .executeTakeFirstOrThrow();
    const { hash: _h, ...rest } = {
      ...template,
      seq: seq as number,
      id: randomUUID(),
      tool: "refund_order",
      outcome: "forged",
    };
    return { ...rest, hash: hashRecord(rest) };
  };

  /** Remove the schema's guard the way someone with the database's owner rights can. */
  const dropGuards = async (seq: number | null) => {
    const db = env.store.db;
    if (env.storeKind === "sqlite") {
      await sql`DROP TRIGGER audit_events_seq_insert`.execute(db);
      await sql`DROP TRIGGER audit_events_seq_update`.execute(db);
      return;
    }
    await sql`ALTER TABLE audit_events DROP CONSTRAINT audit_events_seq_positive`.execute(db);
    if (seq === null) {
      await sql`ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey`.execute(db);
      await sql`ALTER TABLE audit_events ALTER COLUMN seq DROP NOT NULL`.execute(db);
    }
  };

  const cases: Array<[string, number | null]> = [
    ["0", 0],
    ["-5", -5],
    ["NULL", null],
    ...(store.storeKind === "sqlite" ? [["2.5", 2.5] as [string, number]] : []),
  ];

  it.each(cases)("audit verify names a forged event numbered %s; trace leaves it out", async (_n, seq) => {
    await dropGuards(seq);
    const row = await forged(seq);
    await env.store.db.insertInto("audit_events").values(row).execute();

    const verify = runCli(["audit", "verify"], cliEnv);
    expect(verify.status, verify.stdout).toBe(1);
    expect(verify.stderr).toContain(`audit chain BROKEN at event #${String(seq)} (${row.id})`);
    expect(verify.stderr).toContain(`forged event ${row.id}`);

    const trace = runCli(["audit", "trace", "corr-real"], cliEnv);
    expect(trace.status, trace.stderr).toBe(0);
    expect(trace.stdout).toContain("4 events");
    expect(trace.stdout).not.toContain("refund_order");
    expect(trace.stderr).toContain("outside the audit chain");
    expect(trace.stderr).toContain(row.id);
  });

  it.each(cases)("the store refuses to insert an event numbered %s", async (_n, seq) => {
    const row = await forged(seq);
    await expect(env.store.db.insertInto("audit_events").values(row).execute()).rejects.toThrow(
      env.storeKind === "sqlite"
        ? "audit_events.seq must be a whole number from 1 up"
        : /audit_events_seq_positive|null value in column "seq"|invalid input syntax/,
    );
    const verify = runCli(["audit", "verify"], cliEnv);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stdout).toContain("audit chain intact: 4 events, head #4");
  });

  it("the store refuses to renumber an event below 1", async () => {
    await expect(
      env.store.db.updateTable("audit_events").set({ seq: 0 }).where("seq", "=", 2).execute(),
    ).rejects.toThrow(
      env.storeKind === "sqlite"
        ? "audit_events.seq must be a whole number from 1 up"
        : "audit_events_seq_positive",
    );
  });
});
