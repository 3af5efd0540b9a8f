import { Migrator } from "kysely/migration";
import type { Store } from "./database.ts";
import { migrationProvider } from "./migrations/index.ts";

// Races between processes migrating the same fresh database: a locked file, or a row/table the other
// process created a moment earlier. Retrying re-reads the migration table and finds the work done.
const RACE = /SQLITE_BUSY|database is locked|already exists|UNIQUE constraint failed|duplicate key value/;

/**
 * Brings the schema up to date. Every server calls this at start-up; several processes may race on a
 * fresh SQLite file (Kysely's SQLite lock is a no-op), so races are retried; PostgreSQL serialises through
 * Kysely's advisory lock.
 */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider });
  for (let attempt = 0; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
    const message = error instanceof Error ? error.message : String(error);
    if (attempt < 20 && RACE.test(message)) {
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
      continue;
    }
    throw new Error(`store migration failed on ${store.dialect} (${store.location}): ${message}`);
  }
}
