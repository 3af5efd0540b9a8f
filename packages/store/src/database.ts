import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import SQLite from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import type PgModule from "pg";
import { withStatementCache } from "./statement-cache.ts";
import type { GatehouseTables } from "./tables.ts";

export type Dialect = "sqlite" | "postgres";

export interface Store {
  db: Kysely<GatehouseTables>;
  dialect: Dialect;
  /** Where the data lives, without credentials: safe to print. */
  location: string;
  close(): Promise<void>;
}

let pgModule: typeof PgModule | undefined;

/** The PostgreSQL driver, loaded only by a process that uses PostgreSQL (the embedded store never does). */
function pg(): typeof PgModule {
  if (!pgModule) {
    pgModule = createRequire(import.meta.url)("pg") as typeof PgModule;
    // Audit sequence numbers are int8; they stay far below 2^53, so plain numbers are safe.
    pgModule.types.setTypeParser(pgModule.types.builtins.INT8, (v) => Number.parseInt(v, 10));
  }
  return pgModule;
}

export function isPostgresUrl(url: string | undefined): url is string {
  return !!url && /^postgres(ql)?:\/\//.test(url);
}

/** Redacts the password of a connection URL for display. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable database url)";
  }
}

/**
 * Opens Gatehouse's store: PostgreSQL when `databaseUrl` is a postgres URL, otherwise one SQLite file
 * in WAL mode that several server processes share (busy_timeout makes writers wait instead of failing).
 */
export function openStore(opts: { databaseUrl?: string; sqlitePath: string }): Store {
  // Unset or empty means the embedded store; anything else must be PostgreSQL, never a silent fallback.
  if (opts.databaseUrl && !isPostgresUrl(opts.databaseUrl)) {
    throw new Error(
      `DATABASE_URL must be a postgres:// or postgresql:// URL (or unset for the embedded store); got "${describeUrl(opts.databaseUrl)}"`,
    );
  }
  if (isPostgresUrl(opts.databaseUrl)) {
    const pool = new (pg().Pool)({
      connectionString: opts.databaseUrl,
      max: 10,
      connectionTimeoutMillis: 5000,
    });
    const db = new Kysely<GatehouseTables>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: "postgres", location: describeUrl(opts.databaseUrl), close: () => db.destroy() };
  }
  const file = resolve(opts.sqlitePath);
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("busy_timeout = 5000");
  sqlite.pragma("synchronous = NORMAL");
  const db = new Kysely<GatehouseTables>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite) }),
  });
  return { db, dialect: "sqlite", location: file, close: () => db.destroy() };
}
