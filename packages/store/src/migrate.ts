import { Migrator } from "kysely";
import type { Store } from "./database.ts";
import { migrationProvider } from "./migrations/index.ts";

const BUSY = /SQLITE_BUSY|database is locked/;

/**
 * Brings the schema up to date. Every server calls this at start-up; several processes may race on a
 * fresh SQLite file, so a busy database is retried (PostgreSQL serialises through Kysely's advisory lock).
 */
export async function migrateToLatest(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider });
  for (let attempt = 0; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
    const message = error instanceof Error ? error.message : String(error);
    if (attempt < 20 && BUSY.test(message)) {
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
      continue;
    }
    throw new Error(`store migration failed on ${store.dialect} (${store.location}): ${message}`);
  }
}
