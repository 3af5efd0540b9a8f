import { type Kysely, sql } from "kysely";
import type { Store } from "./database.ts";
import type { GatehouseTables } from "./tables.ts";

/** The store's query builder, or a transaction of it. */
export type StoreDb = Kysely<GatehouseTables>;

// SQLite: the write lock stayed busy past busy_timeout. PostgreSQL: deadlock or serialization failure.
const TRANSIENT = /SQLITE_BUSY|database is locked|deadlock detected|could not serialize/;

/**
 * Runs `work` as one transaction that holds the write lock from its first statement: SQLite starts it with
 * BEGIN IMMEDIATE (every writer of the file waits for it, in every process); on PostgreSQL `work` locks the
 * rows it decides on (`forUpdate`, see `lockingRead`). Transient lock failures are retried a few times.
 * `work` must use only the handle it is given, and must never wait on the network.
 */
export async function inTransaction<T>(store: Store, work: (trx: StoreDb) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.db.connection().execute(async (conn) => {
        await sql.raw(store.dialect === "sqlite" ? "begin immediate" : "begin").execute(conn);
        try {
          const result = await work(conn);
          await sql.raw("commit").execute(conn);
          return result;
        } catch (err) {
          await sql
            .raw("rollback")
            .execute(conn)
            .catch(() => undefined);
          throw err;
        }
      });
    } catch (err) {
      if (attempt >= 5 || !TRANSIENT.test(String((err as Error)?.message))) throw err;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 50));
    }
  }
}

/** `FOR UPDATE` where the dialect has row locks (PostgreSQL); SQLite's BEGIN IMMEDIATE already serialises writers. */
export function lockingRead<Q extends { forUpdate(): Q }>(store: Store, query: Q): Q {
  return store.dialect === "postgres" ? query.forUpdate() : query;
}
