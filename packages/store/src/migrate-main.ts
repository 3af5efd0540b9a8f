import { describeUrl, isPostgresUrl, openStore } from "./database.ts";
import { migrateToLatest } from "./migrate.ts";

/**
 * `node packages/store/src/migrate-main.ts`: brings the PostgreSQL store named by DATABASE_URL up to date and
 * exits — what a deployment runs once before rolling out servers (the Kubernetes migration Job), so a failing
 * migration shows in one place instead of in every replica's start-up. Servers still migrate at start-up
 * (a no-op then); concurrent runs serialise on Kysely's advisory lock.
 */
async function main(): Promise<number> {
  const url = process.env.DATABASE_URL?.trim();
  if (!isPostgresUrl(url)) {
    process.stderr.write(
      url
        ? `migrate: DATABASE_URL must be a postgres:// or postgresql:// URL; got "${describeUrl(url)}"\n`
        : "migrate: DATABASE_URL is not set: give the PostgreSQL store's URL (the embedded store migrates itself)\n",
    );
    return 2;
  }
  const store = openStore({ databaseUrl: url, sqlitePath: "" });
  try {
    const applied = await migrateToLatest(store);
    process.stderr.write(
      `migrate: ${store.location} is up to date${applied.length ? ` (applied ${applied.join(", ")})` : " (nothing to apply)"}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // migrateToLatest's errors name the store by its location, never its password.
    process.stderr.write(`migrate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
