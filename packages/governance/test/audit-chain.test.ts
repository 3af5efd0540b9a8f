import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type AuditEventInput,
  AuditLog,
  GENESIS_HASH,
  hashRecord,
  type Identity,
  verifyAuditChain,
} from "../src/index.ts";

const alice: Identity = {
  user: "alice",
  roles: ["support_agent"],
  tenant: "emea",
  client: "claude-desktop",
  env: "test",
  tokenId: "token-1",
  scopes: ["orders:read"],
};

function event(i: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    type: "tool.completed",
    server: "order-lookup",
    tool: "get_order",
    identity: alice,
    args: { orderId: `SO-${100000 + i}`, include: { lines: true, history: false } },
    decision: "allow",
    policyIds: ["order-lookup.support-agents-read-orders"],
    outcome: "ok",
    detail: { rows: i },
    latencyMs: 12.5,
    correlationId: `corr-${i}`,
    traceId: randomUUID(),
    spanId: randomUUID(),
    ...overrides,
  };
}

let dir: string;
let sqlitePath: string;
let store: Store;
let log: AuditLog;
const extraStores: Store[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-audit-"));
  sqlitePath = join(dir, "store.sqlite");
  store = openStore({ sqlitePath });
  await migrateToLatest(store);
  log = new AuditLog(store);
});

afterEach(async () => {
  for (const s of extraStores.splice(0)) await s.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function appendEvents(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await log.append(event(i));
}

describe("audit chain", () => {
  it("verifies an empty log as the genesis head", async () => {
    expect(await verifyAuditChain(log)).toEqual({ ok: true, events: 0, headSeq: 0, headHash: GENESIS_HASH });
  });

  it("chains appended events and verifies them", async () => {
    await appendEvents(5);
    const rows = await log.after(0);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]?.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]?.prev_hash).toBe(rows[i - 1]?.hash);
    expect(await verifyAuditChain(log)).toEqual({ ok: true, events: 5, headSeq: 5, headHash: rows[4]?.hash });
  });

  it("stores the identity and canonical JSON fields the hash covers", async () => {
    const rec = await log.append(event(1, { args: { b: 2, a: 1 } }));
    expect(rec).toMatchObject({
      seq: 1,
      user_id: "alice",
      tenant: "emea",
      client_id: "claude-desktop",
      env: "test",
      token_id: "token-1",
      roles: '["support_agent"]',
      args: '{"a":1,"b":2}',
      policy_ids: '["order-lookup.support-agents-read-orders"]',
    });
    const { hash, ...rest } = rec;
    expect(hashRecord(rest)).toBe(hash);
  });

  it("detects an event edited after it was written", async () => {
    await appendEvents(5);
    await store.db.updateTable("audit_events").set({ decision: "deny" }).where("seq", "=", 3).execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, seq: 3, events: 2 });
    if (result.ok) return;
    expect(result.problem).toContain("hash mismatch");
  });

  it("detects an edit to a JSON field that keeps the same meaning but not the same text", async () => {
    await appendEvents(5);
    const row = await store.db
      .selectFrom("audit_events")
      .select("args")
      .where("seq", "=", 3)
      .executeTakeFirstOrThrow();
    const reordered = JSON.stringify(
      Object.fromEntries(Object.entries(JSON.parse(row.args ?? "{}")).reverse()),
    );
    expect(reordered).not.toBe(row.args);
    await store.db.updateTable("audit_events").set({ args: reordered }).where("seq", "=", 3).execute();
    expect(await verifyAuditChain(log)).toMatchObject({
      ok: false,
      seq: 3,
      problem: expect.stringContaining("hash mismatch"),
    });
  });

  it("detects an edited event whose hash was recomputed by the attacker, at the next link", async () => {
    await appendEvents(5);
    const row = await store.db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", "=", 3)
      .executeTakeFirstOrThrow();
    const { hash: _old, ...rest } = { ...row, outcome: "never happened" };
    await store.db
      .updateTable("audit_events")
      .set({ outcome: rest.outcome, hash: hashRecord(rest) })
      .where("seq", "=", 3)
      .execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, seq: 4, events: 3 });
    if (result.ok) return;
    expect(result.problem).toContain("broken link");
  });

  it("detects a deleted event as a sequence gap", async () => {
    await appendEvents(5);
    const deleted = await store.db
      .selectFrom("audit_events")
      .select("id")
      .where("seq", "=", 3)
      .executeTakeFirstOrThrow();
    await store.db.deleteFrom("audit_events").where("seq", "=", 3).execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, seq: 4, events: 2 });
    if (result.ok) return;
    expect(result.problem).toContain("sequence gap");
    expect(result.problem).toContain("expected event #3");
    expect(result.id).not.toBe(deleted.id);
  });

  it("detects two events swapped in order", async () => {
    await appendEvents(5);
    const db = store.db;
    // Through a spare number above the head: the schema refuses numbers below 1.
    await db.updateTable("audit_events").set({ seq: 1000 }).where("seq", "=", 2).execute();
    await db.updateTable("audit_events").set({ seq: 2 }).where("seq", "=", 3).execute();
    await db.updateTable("audit_events").set({ seq: 3 }).where("seq", "=", 1000).execute();
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: false, seq: 2, events: 1 });
    if (result.ok) return;
    expect(result.problem).toMatch(/broken link|hash mismatch/);
  });

  it("reports the head so that truncating the newest events can be noticed", async () => {
    await appendEvents(5);
    const before = await verifyAuditChain(log);
    await store.db.deleteFrom("audit_events").where("seq", ">", 3).execute();
    const after = await verifyAuditChain(log);
    expect(after).toMatchObject({ ok: true, headSeq: 3 });
    expect(after.ok && before.ok && after.headHash).not.toBe(before.ok && before.headHash);
  });

  it("keeps one unforked chain when two logs on the same SQLite file append concurrently", async () => {
    const other = openStore({ sqlitePath });
    extraStores.push(other);
    const logB = new AuditLog(other);
    await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => log.append(event(i, { server: "server-a" }))),
      ...Array.from({ length: 50 }, (_, i) => logB.append(event(i, { server: "server-b" }))),
    ]);
    const result = await verifyAuditChain(log);
    expect(result).toMatchObject({ ok: true, events: 100, headSeq: 100 });
    const rows = await log.after(0, 1000);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(100);
    expect(rows.filter((r) => r.server === "server-a")).toHaveLength(50);
    expect(rows.filter((r) => r.server === "server-b")).toHaveLength(50);
    expect(await verifyAuditChain(logB)).toEqual(result);
  });

  it("keeps one unforked chain when every append races another log for the same sequence number", async () => {
    const other = openStore({ sqlitePath });
    extraStores.push(other);
    const logB = new AuditLog(other);
    // Lock-step pairs: both logs read the same head each round, so one insert hits the unique seq and retries.
    for (let i = 0; i < 50; i++) {
      await Promise.all([
        log.append(event(i, { server: "server-a" })),
        logB.append(event(i, { server: "server-b" })),
      ]);
    }
    expect(await verifyAuditChain(log)).toMatchObject({ ok: true, events: 100, headSeq: 100 });
    const rows = await log.after(0, 1000);
    expect(new Set(rows.map((r) => r.seq)).size).toBe(100);
    expect(new Set(rows.map((r) => r.prev_hash)).size).toBe(100);
  });

  it("commits concurrent appends in arrival order, each caller holding its own stored event", async () => {
    const other = openStore({ sqlitePath });
    extraStores.push(other);
    const logB = new AuditLog(other);
    // 40 appends in flight at once on each of two logs sharing the file: grouped writes racing each other.
    const [a, b] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => log.append(event(i, { server: "server-a" })))),
      Promise.all(Array.from({ length: 40 }, (_, i) => logB.append(event(i, { server: "server-b" })))),
    ]);
    expect(await verifyAuditChain(log)).toMatchObject({ ok: true, events: 80, headSeq: 80 });
    const stored = new Map((await log.after(0, 1000)).map((r) => [r.id, r]));
    for (const rec of [...a, ...b]) expect(stored.get(rec.id)).toEqual(rec);
    // Within one process, the chain keeps the order the events were appended in.
    for (const recs of [a, b]) {
      const seqs = recs.map((r) => r.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  });

  it("fails only the event that cannot be stored, not the others written with it", async () => {
    const good = Array.from({ length: 5 }, (_, i) => log.append(event(i)));
    // A NOT NULL column left null: the store refuses this row, whatever it is grouped with.
    const bad = log.append(event(99, { correlationId: null as unknown as string }));
    const more = Array.from({ length: 5 }, (_, i) => log.append(event(10 + i)));
    await expect(bad).rejects.toThrow();
    expect(await Promise.all([...good, ...more])).toHaveLength(10);
    expect(await verifyAuditChain(log)).toMatchObject({ ok: true, events: 10, headSeq: 10 });
  });

  it("returns one request's events in order by correlation id", async () => {
    await log.append(event(1, { type: "tool.requested", correlationId: "req-1" }));
    await log.append(event(2, { correlationId: "req-2" }));
    await log.append(event(3, { type: "tool.completed", correlationId: "req-1" }));
    const rows = await log.byCorrelation("req-1");
    expect(rows.map((r) => [r.seq, r.type])).toEqual([
      [1, "tool.requested"],
      [3, "tool.completed"],
    ]);
  });
});
