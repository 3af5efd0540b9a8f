import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { Migrator } from "kysely/migration";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrateToLatest, openStore, type Store } from "../src/index.ts";
import { migrationProvider } from "../src/migrations/index.ts";

let dir: string;
const opened: Store[] = [];

function open(): Store {
  const store = openStore({ sqlitePath: join(dir, "nested", "store.sqlite") });
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-store-"));
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function tableNames(store: Store): Promise<string[]> {
  return (await store.db.introspection.getTables()).map((t) => t.name).sort();
}

describe("store migrations", () => {
  it("creates the audit and kill-switch tables on a fresh SQLite file (and its folder)", async () => {
    const store = open();
    expect(store.dialect).toBe("sqlite");
    expect(await migrateToLatest(store)).toEqual([
      "001_audit_and_kill_switches",
      "002_tickets_and_approvals",
      "003_write_path",
      "004_audit_sequence_constraints",
      "005_revocations_and_access",
    ]);
    expect(await tableNames(store)).toEqual(expect.arrayContaining(["audit_events", "kill_switches"]));
  });

  it("does nothing and keeps the data when migrated a second time", async () => {
    const store = open();
    await migrateToLatest(store);
    await store.db
      .insertInto("kill_switches")
      .values({ tool: "get_order", enabled: 1, reason: "kept", updated_by: "test", updated_at: "2024-05-01" })
      .execute();
    expect(await migrateToLatest(store)).toEqual([]);
    expect(await migrateToLatest(open())).toEqual([]);
    const rows = await store.db.selectFrom("kill_switches").selectAll().execute();
    expect(rows).toEqual([
      { tool: "get_order", enabled: 1, reason: "kept", updated_by: "test", updated_at: "2024-05-01" },
    ]);
  });

  it("lets two stores migrate one fresh SQLite file at the same time", async () => {
    for (let round = 0; round < 5; round++) {
      rmSync(join(dir, "nested"), { recursive: true, force: true });
      const a = open();
      const b = open();
      // Both must succeed; which of them records which migration is a race and does not matter.
      await Promise.all([migrateToLatest(a), migrateToLatest(b)]);
      expect(await migrateToLatest(a)).toEqual([]);
      const applied = await a.db
        .selectFrom("kysely_migration" as never)
        .select("name" as never)
        .execute();
      expect(applied.map((r) => (r as { name: string }).name).sort()).toEqual([
        "001_audit_and_kill_switches",
        "002_tickets_and_approvals",
        "003_write_path",
        "004_audit_sequence_constraints",
        "005_revocations_and_access",
      ]);
      await a.close();
      await b.close();
      opened.splice(opened.indexOf(a), 1);
      opened.splice(opened.indexOf(b), 1);
    }
  });
});

describe("003_write_path on a store that already holds drafts and decisions", () => {
  it("records each draft's authors and numbers each subject's decisions in order, with two processes upgrading at once", async () => {
    const store = open();
    const migrator = new Migrator({ db: store.db, provider: migrationProvider });
    expect((await migrator.migrateTo("002_tickets_and_approvals")).error).toBeUndefined();
    const raw = store.db as unknown as Kysely<Record<string, Record<string, unknown>>>;
    const draft = (id: string, created: string, updated: string) => ({
      id,
      tenant: "emea",
      project: "SUP",
      issue_type: "Task",
      summary: "s",
      description: "d",
      labels: "[]",
      content_hash: "h",
      version: 1,
      status: "draft",
      created_by: created,
      updated_by: updated,
      created_at: "2026-01-01T00:00:00.000Z",
      updated_at: "2026-01-01T00:00:00.000Z",
    });
    await raw
      .insertInto("ticket_drafts")
      .values([draft("dr_a", "alice", "alice"), draft("dr_b", "alice", "dave")])
      .execute();
    const decision = (id: string, subject: string, at: string) => ({
      id,
      subject_type: "ticket_draft",
      subject_id: subject,
      content_hash: "h",
      tenant: "emea",
      decision: "approved",
      approver: "carol",
      created_at: at,
      expires_at: "2027-01-01T00:00:00.000Z",
    });
    await raw
      .insertInto("approvals")
      .values([
        decision("apr_2", "dr_a", "2026-01-02T00:00:00.000Z"),
        decision("apr_1", "dr_a", "2026-01-01T00:00:00.000Z"),
        decision("apr_3", "dr_b", "2026-01-03T00:00:00.000Z"),
      ])
      .execute();

    // Two processes upgrade the same file at once.
    const other = open();
    await Promise.all([migrateToLatest(store), migrateToLatest(other)]);

    const drafts = await store.db
      .selectFrom("ticket_drafts")
      .select(["id", "authors"])
      .orderBy("id")
      .execute();
    expect(drafts.map((d) => [d.id, JSON.parse(d.authors)])).toEqual([
      ["dr_a", ["alice"]],
      ["dr_b", ["alice", "dave"]],
    ]);
    const seqs = await store.db.selectFrom("approvals").select(["id", "seq"]).orderBy("id").execute();
    expect(seqs).toEqual([
      { id: "apr_1", seq: 1 },
      { id: "apr_2", seq: 2 },
      { id: "apr_3", seq: 1 },
    ]);
  });
});

describe("openStore", () => {
  it("refuses a DATABASE_URL that is neither empty nor PostgreSQL, instead of silently using SQLite", () => {
    expect(() =>
      openStore({ databaseUrl: "mysql://root:secret@db/gatehouse", sqlitePath: "/tmp/unused.db" }),
    ).toThrow(
      /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL .* got "mysql:\/\/root:\*\*\*@db\/gatehouse"/,
    );
  });
});
