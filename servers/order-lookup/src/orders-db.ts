import { existsSync } from "node:fs";
import { withStatementCache } from "@gatehouse/store";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { DB } from "./generated/orders-db.ts";

export type OrdersDb = Kysely<DB>;

/**
 * Opens the orders system read-only: the file is opened readonly and query_only is set, so no statement
 * from this server can change someone else's database.
 */
export function openOrdersDb(url: string): OrdersDb {
  const file = url.replace(/^file:/, "");
  if (!existsSync(file)) {
    throw new Error(
      `orders database not found at ${file}: run \`pnpm gatehouse start\` (it seeds the sandbox) or set ORDERS_DATABASE_URL`,
    );
  }
  const sqlite = new SQLite(file, { readonly: true, fileMustExist: true });
  sqlite.pragma("query_only = ON");
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}
