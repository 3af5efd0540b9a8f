import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuditEventInput,
  AuditLog,
  type AuditRecord,
  hashRecord,
  verifyAuditChain,
} from "../src/index.ts";

// Rows numbered outside 1..head: the chain walk starts at #1 and climbs, so such a row is never examined
// unless verify reconciles the table with the walk, while `audit trace` would still show it.

let dir: string;
let store: Store;
let log: AuditLog;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-audit-forgery-"));
  store = openStore({ sqlitePath: join(dir, "store.sqlite") });
  await migrateToLatest(store);
  log = new AuditLog(store);
  for (let i = 1; i <= 5; i++) await log.append(event(i));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function event(i: number): AuditEventInput {
  return {
    type: "tool.completed",
    server: "order-lookup",
    tool: "get_order",
    args: { orderId: `SO-${100000 + i}` },
    outcome: "ok",
    correlationId: `corr-${i}`,
    traceId: randomUUID(),
    spanId: randomUUID(),
  };
}

/** A plausible event (copied from #1, fresh id, self-consistent hash) under any sequence number. */
async function forgedRow(seq: number | null): Promise<AuditRecord> {
  const template = await store.db
    .selectFrom("audit_events")
    .selectAll()
    .where("seq", "=", 1)
    .executeTakeFirstOrThrow();
  const { hash: _h, ...rest } = { ...template, id: randomUUID(), outcome: "never happened" };
  return { ...rest, seq: seq as number, hash: hashRecord({ ...rest, seq: seq as number }) };
}

/** What an attacker with raw database access does first: remove the schema's guard. */
async function dropGuards(): Promise<void> {
  await sql`DROP TRIGGER IF EXISTS audit_events_seq_insert`.execute(store.db);
  await sql`DROP TRIGGER IF EXISTS audit_events_seq_update`.execute(store.db);
}

describe("audit verify reconciles every row with the chain", () => {
  it.each([
    ["zero", 0],
    ["negative", -5],
    ["NULL", null],
  ])("names a forged event numbered %s, which the walk from #1 never reaches", async (_name, seq) => {
    await dropGuards();
    const forged = await forgedRow(seq);
    await store.db.insertInto("audit_events").values(forged).execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, id: forged.id, seq, events: 5 });
    if (result.ok) return;
    expect(result.problem).toContain(`forged event ${forged.id} outside the chain`);
    expect(result.problem).toContain(`sequence number ${String(seq)} is not in 1..5`);
  });

  it.each([
    ["between two events", 2.5, 2],
    ["past the head", 5.5, 5],
  ])("names a forged event with a fractional number %s", async (_name, seq, before) => {
    await dropGuards();
    const forged = await forgedRow(seq);
    await store.db.insertInto("audit_events").values(forged).execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, id: forged.id, seq, events: before });
    if (result.ok) return;
    expect(result.problem).toContain(
      `forged event ${forged.id}: sequence number ${seq} is not a whole number`,
    );
  });

  it("names a forged event beyond the head as out of sequence", async () => {
    await dropGuards();
    const forged = await forgedRow(9);
    await store.db.insertInto("audit_events").values(forged).execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, id: forged.id, seq: 9, events: 5 });
    if (result.ok) return;
    expect(result.problem).toBe(
      "sequence gap: expected event #6, found #9 (an event was deleted, or this one inserted out of sequence)",
    );
  });

  it("reports every forged row at once in the count, naming the first", async () => {
    await dropGuards();
    const rows = await Promise.all([forgedRow(0), forgedRow(-5), forgedRow(null)]);
    await store.db.insertInto("audit_events").values(rows).execute();
    const result = await verifyAuditChain(log);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(rows.map((r) => r.id)).toContain(result.id);
    expect(result.problem).toContain("(and 2 more)");
  });

  it("counts a duplicate the paged walk skips when the primary key was dropped", async () => {
    // Rebuild the table without its primary key (as an attacker can), then copy the event on which the
    // walk's first page of 1,000 ends: the next page starts above it and never sees the copy.
    await log.append(event(6));
    const base = await store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 6)
      .executeTakeFirstOrThrow();
    const more: AuditRecord[] = [];
    let prev = base.hash;
    for (let seq = 7; seq <= 1001; seq++) {
      const { hash: _h, ...rest } = { ...base, seq, id: randomUUID(), prev_hash: prev };
      const hash = hashRecord(rest);
      more.push({ ...rest, hash });
      prev = hash;
    }
    for (let i = 0; i < more.length; i += 100)
      await store.db
        .insertInto("audit_events")
        .values(more.slice(i, i + 100))
        .execute();
    expect(await verifyAuditChain(log)).toMatchObject({ ok: true, events: 1001 });

    await dropGuards();
    await sql`CREATE TABLE audit_events_copy AS SELECT * FROM audit_events`.execute(store.db);
    await sql`DROP TABLE audit_events`.execute(store.db);
    await sql`ALTER TABLE audit_events_copy RENAME TO audit_events`.execute(store.db);
    const at1000 = await store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 1000)
      .executeTakeFirstOrThrow();
    await store.db.insertInto("audit_events").values(at1000).execute();

    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, events: 1001 });
    if (result.ok) return;
    expect(result.problem).toBe(
      "row count mismatch: 1002 rows at or below head #1001, but the chain holds 1001 events",
    );
  });
});

describe("the schema refuses events outside the chain", () => {
  it.each([
    ["zero", 0],
    ["negative", -5],
    ["NULL", null],
    ["fractional", 2.5],
  ])("refuses to insert an event numbered %s", async (_name, seq) => {
    const forged = await forgedRow(null);
    const insert = store.db
      .insertInto("audit_events")
      .values({ ...forged, seq: seq as number })
      .execute();
    await expect(insert).rejects.toThrow("audit_events.seq must be a whole number from 1 up");
    expect(await verifyAuditChain(log)).toMatchObject({ ok: true, events: 5 });
  });

  it.each([
    ["zero", 0],
    ["negative", -2],
    ["NULL", null],
    ["fractional", 3.5],
  ])("refuses to renumber an event to %s", async (_name, seq) => {
    await expect(
      store.db
        .updateTable("audit_events")
        .set({ seq: seq as number })
        .where("seq", "=", 3)
        .execute(),
    ).rejects.toThrow("audit_events.seq must be a whole number from 1 up");
    expect(await verifyAuditChain(log)).toMatchObject({ ok: true, events: 5 });
  });

  it("migrates the same fresh file from two stores at once", async () => {
    const file = join(dir, "fresh.sqlite");
    const a = openStore({ sqlitePath: file });
    const b = openStore({ sqlitePath: file });
    try {
      await Promise.all([migrateToLatest(a), migrateToLatest(b)]);
      const triggers = await sql<{ name: string }>`
        SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events' ORDER BY name`.execute(
        a.db,
      );
      expect(triggers.rows.map((r) => r.name)).toEqual([
        "audit_events_seq_insert",
        "audit_events_seq_update",
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
