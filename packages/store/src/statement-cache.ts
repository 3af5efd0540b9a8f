import type SQLite from "better-sqlite3";
import type { SqliteDatabase } from "kysely";

/**
 * Kysely asks the SQLite driver to prepare every query afresh; preparing costs more than running the
 * small inserts and lookups Gatehouse does per tool call. This keeps the most recent statements by SQL
 * text (Kysely's compiled SQL is parameterised, so the set is small) and reuses them. A statement still
 * iterating (a stream) is never handed out twice.
 */
export function withStatementCache(db: SQLite.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string) {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        // Most recently used last, so the oldest is evicted first.
        cache.delete(sql);
        cache.set(sql, hit);
        return hit as unknown as ReturnType<SqliteDatabase["prepare"]>;
      }
      const fresh = db.prepare(sql);
      if (!hit) {
        cache.set(sql, fresh);
        if (cache.size > max) cache.delete(cache.keys().next().value as string);
      }
      return fresh as unknown as ReturnType<SqliteDatabase["prepare"]>;
    },
  };
}
