import SQLite from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { withStatementCache } from "../src/statement-cache.ts";

describe("withStatementCache", () => {
  let db: SQLite.Database;
  beforeEach(() => {
    db = new SQLite(":memory:");
    db.exec("create table t (n integer)");
    for (let i = 0; i < 3; i++) db.prepare("insert into t values (?)").run(i);
  });
  afterEach(() => {
    if (db.open) db.close();
  });

  it("hands out the same prepared statement for the same SQL", () => {
    const cached = withStatementCache(db);
    const a = cached.prepare("select n from t where n = ?");
    expect(cached.prepare("select n from t where n = ?")).toBe(a);
    expect(cached.prepare("select n from t")).not.toBe(a);
  });

  it("never shares a statement that is still iterating", () => {
    const cached = withStatementCache(db);
    const sql = "select n from t order by n";
    const streaming = cached.prepare(sql) as unknown as SQLite.Statement;
    const rows = streaming.iterate();
    rows.next();
    const second = cached.prepare(sql) as unknown as SQLite.Statement;
    expect(second).not.toBe(streaming);
    expect(second.all()).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }]);
    rows.return?.();
  });

  it("keeps at most `max` statements, evicting the least recently used", () => {
    const cached = withStatementCache(db, 2);
    const one = cached.prepare("select 1");
    const two = cached.prepare("select 2");
    cached.prepare("select 1"); // touch: now "select 2" is the oldest
    cached.prepare("select 3");
    expect(cached.prepare("select 1")).toBe(one);
    expect(cached.prepare("select 2")).not.toBe(two);
  });
});
