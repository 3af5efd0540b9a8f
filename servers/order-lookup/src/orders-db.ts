import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { ToolError } from "@gatehouse/kit";
import { describeUrl, isPostgresUrl, withStatementCache } from "@gatehouse/store";
import SQLite from "better-sqlite3";
import { type DatabaseConnection, type Driver, Kysely, PostgresDialect, SqliteDialect, sql } from "kysely";
import type PgModule from "pg";
import type { DB } from "./generated/orders-db.ts";

export type OrdersDb = Kysely<DB>;

/** The orders system, opened read-only on one of the two dialects order-lookup reads. */
export interface OrdersDatabase {
  db: OrdersDb;
  dialect: "sqlite" | "postgres";
  /** Where the data lives, without credentials: safe to print. */
  location: string;
  close(): Promise<void>;
}

export interface PostgresLimits {
  /** Connections this process keeps to the orders database at most. */
  poolMax: number;
  /** How long one statement may run before PostgreSQL cancels it. */
  statementTimeoutMs: number;
}

export const DEFAULT_POSTGRES_LIMITS: PostgresLimits = { poolMax: 5, statementTimeoutMs: 5000 };

/** The tables order-lookup reads; the read-only check covers every one of them. */
export const ORDERS_TABLES = [
  "customers",
  "orders",
  "order_lines",
  "shipments",
  "invoices",
  "payments",
] as const;

/** A start-up refusal: one line that says what is wrong and what to do. */
export class OrdersDatabaseError extends Error {}

/**
 * Opens the orders system read-only: a SQLite file (`file:` URL or path; the embedded default) or a
 * PostgreSQL database (`postgres://`), whose role must not be able to write: checked before first use.
 */
export async function openOrdersDatabase(
  url: string,
  limits: PostgresLimits = DEFAULT_POSTGRES_LIMITS,
): Promise<OrdersDatabase> {
  // (A cast, so the type guard does not narrow `url` to never below.)
  if (!isPostgresUrl(url as string | undefined)) {
    const db = openOrdersDb(url);
    return { db, dialect: "sqlite", location: url.replace(/^file:/, ""), close: () => db.destroy() };
  }
  const location = describeUrl(url);
  const db = new Kysely<DB>({ dialect: new GuardedPostgresDialect(url, limits) });
  try {
    await verifyReadOnly(db, location);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect: "postgres", location, close: () => db.destroy() };
}

/**
 * Opens a SQLite orders file read-only: the file is opened readonly and query_only is set, so no statement
 * from this server can change someone else's database.
 */
export function openOrdersDb(url: string): OrdersDb {
  const file = url.replace(/^file:/, "");
  if (!existsSync(file)) {
    throw new OrdersDatabaseError(
      `orders database not found at ${file}: run \`pnpm gatehouse start\` (it seeds the sandbox) or set ORDERS_DATABASE_URL`,
    );
  }
  const sqlite = new SQLite(file, { readonly: true, fileMustExist: true });
  sqlite.pragma("query_only = ON");
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
}

/** Text ordering by bytes on both dialects, so pages (and their cursors) come out the same on either. */
export function byteOrder(dialect: OrdersDatabase["dialect"], column: string) {
  return dialect === "postgres" ? sql`${sql.ref(column)} collate "C"` : sql`${sql.ref(column)}`;
}

let pgModule: typeof PgModule | undefined;
function pg(): typeof PgModule {
  pgModule ??= createRequire(import.meta.url)("pg") as typeof PgModule;
  return pgModule;
}

const OID = { INT8: 20, TIMESTAMP: 1114, TIMESTAMPTZ: 1184 };

/** Timestamps as the SQLite copy holds them (ISO text, +00:00), so the domain code sees one shape. */
function isoText(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}

/**
 * This pool's own type parsers (pg's are process-wide): Prisma's `timestamp(3)` columns hold UTC without a
 * zone, so they are read as UTC, not local time; sums of int columns are int8, far below 2^53.
 */
function orderTypes(): PgModule.CustomTypesConfig {
  const { types } = pg();
  const tz = types.getTypeParser(OID.TIMESTAMPTZ, "text") as (v: string) => Date;
  return {
    getTypeParser: ((oid: number, format?: "text" | "binary") => {
      if (oid === OID.TIMESTAMP) return (v: string) => isoText(new Date(`${v.replace(" ", "T")}Z`));
      if (oid === OID.TIMESTAMPTZ) return (v: string) => isoText(tz(v));
      if (oid === OID.INT8) return (v: string) => Number.parseInt(v, 10);
      return types.getTypeParser(oid, format ?? "text");
    }) as PgModule.CustomTypesConfig["getTypeParser"],
  };
}

/**
 * A bounded pool whose every session is read-only and has a statement timeout; a timed-out statement or a
 * pool that stays full surfaces to the caller as a ToolError (a clear tool result, never a hang).
 */
class GuardedPostgresDialect extends PostgresDialect {
  constructor(url: string, limits: PostgresLimits) {
    const pool = new (pg().Pool)({
      connectionString: url,
      max: limits.poolMax,
      // Waiting for a free connection is bounded too: a full pool fails the call instead of queueing forever.
      connectionTimeoutMillis: Math.max(limits.statementTimeoutMs, 2000),
      statement_timeout: limits.statementTimeoutMs,
      // A backstop for a server that stops answering altogether (statement_timeout runs on the server).
      query_timeout: limits.statementTimeoutMs + 2000,
      options: "-c default_transaction_read_only=on",
      application_name: "gatehouse-order-lookup",
      types: orderTypes(),
    });
    // An idle connection that breaks must not crash the process; the next query reconnects.
    pool.on("error", () => undefined);
    super({ pool });
    this.limits = limits;
  }

  private readonly limits: PostgresLimits;

  override createDriver(): Driver {
    const driver = super.createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    const translate = (err: unknown) => translatePgError(err, this.limits);
    driver.acquireConnection = async (options) => {
      const connection = await acquire(options).catch((err: unknown) => {
        throw translate(err);
      });
      return guardConnection(connection, translate);
    };
    return driver;
  }
}

/** The connection as it is, except that a failed query's error goes through `translate`. */
function guardConnection(connection: DatabaseConnection, translate: (err: unknown) => unknown) {
  return new Proxy(connection, {
    get(target, prop) {
      if (prop === "executeQuery")
        return (...args: Parameters<DatabaseConnection["executeQuery"]>) =>
          target.executeQuery(...args).catch((err: unknown) => {
            throw translate(err);
          });
      const value = Reflect.get(target, prop, target);
      // PostgresConnection keeps its client in a private field: its methods must run on the target.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function translatePgError(err: unknown, limits: PostgresLimits): unknown {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  const seconds = `${limits.statementTimeoutMs / 1000} s`;
  if (e.code === "57014" || /Query read timeout/.test(String(e.message)))
    return new ToolError(
      `the orders database did not answer within ${seconds}; narrow the request (a smaller limit, a more specific query) or try again later`,
      { cause: err },
    );
  if (/timeout exceeded when trying to connect/.test(String(e.message)))
    return new ToolError(
      `the orders database is busy (no free connection within ${seconds}); try again in a moment`,
      { cause: err },
    );
  return err;
}

/** Why a connection to the orders database failed, in a few words (driver codes, never its text). */
function unreachable(err: unknown, location: string): OrdersDatabaseError {
  const e = (err ?? {}) as { code?: unknown; errors?: Array<{ code?: unknown }> };
  const code = String(e.code ?? e.errors?.[0]?.code ?? "");
  const why =
    {
      ECONNREFUSED: "connection refused",
      ENOTFOUND: "no such host",
      EAI_AGAIN: "no such host",
      ETIMEDOUT: "timed out",
      "28P01": "the credentials were refused",
      "28000": "the credentials were refused",
      "3D000": "no such database",
    }[code] ??
    (code || "connection failed");
  return new OrdersDatabaseError(
    `cannot reach the orders database at ${location} (${why}); check ORDERS_DATABASE_URL`,
  );
}

interface RoleTableRights {
  role: string;
  superuser: boolean;
  table_name: string;
  present: boolean;
  owner: boolean;
  can_select: boolean | null;
  writes: string[] | null;
}

/**
 * Refuses a role that could change the orders database: a superuser, an owner of an orders table (it can
 * grant itself anything), or one with any write privilege on one. Checked for the role and every role it
 * may become (SET ROLE), since a NOINHERIT membership still lets a session write.
 */
async function verifyReadOnly(db: OrdersDb, location: string): Promise<void> {
  let rows: RoleTableRights[];
  let user: string;
  try {
    user = (await sql<{ user: string }>`select current_user as "user"`.execute(db)).rows[0]!.user;
    rows = (
      await sql<RoleTableRights>`
        select m.rolname as role, m.rolsuper as superuser, t.name as table_name, c.oid is not null as present,
               coalesce(c.relowner = m.oid, false) as owner,
               has_table_privilege(m.oid, c.oid, 'SELECT') as can_select,
               array_remove(array[
                 case when has_table_privilege(m.oid, c.oid, 'INSERT')
                        or has_any_column_privilege(m.oid, c.oid, 'INSERT') then 'INSERT' end,
                 case when has_table_privilege(m.oid, c.oid, 'UPDATE')
                        or has_any_column_privilege(m.oid, c.oid, 'UPDATE') then 'UPDATE' end,
                 case when has_table_privilege(m.oid, c.oid, 'DELETE') then 'DELETE' end,
                 case when has_table_privilege(m.oid, c.oid, 'TRUNCATE') then 'TRUNCATE' end,
                 case when has_table_privilege(m.oid, c.oid, 'TRIGGER') then 'TRIGGER' end
               ], null) as writes
        from pg_roles m
        cross join unnest(${sql.val([...ORDERS_TABLES])}::text[]) with ordinality as t(name, n)
        left join pg_class c on c.oid = to_regclass(quote_ident(t.name))
        where pg_has_role(current_user, m.oid, 'MEMBER')
        order by m.rolname <> current_user, m.rolname, t.n`.execute(db)
    ).rows;
  } catch (err) {
    throw unreachable(err, location);
  }
  const mine = rows.filter((r) => r.role === user);
  const missing = mine.find((r) => !r.present);
  if (missing)
    throw new OrdersDatabaseError(
      `the orders database at ${location} has no table "${missing.table_name}" visible to role "${user}"; check that ORDERS_DATABASE_URL names the orders database`,
    );
  const as = (r: RoleTableRights) =>
    r.role === user ? `role "${user}"` : `role "${user}" may become "${r.role}", which`;
  const refuse = (why: string) =>
    new OrdersDatabaseError(
      `refusing to read the orders database at ${location} as a role that can write: ${why}; connect with a role that may only SELECT (e.g. gatehouse_orders_reader, see docs/postgresql.md)`,
    );
  const superuser = rows.find((r) => r.superuser);
  if (superuser) throw refuse(`${as(superuser)} is a superuser`);
  const owner = rows.find((r) => r.owner);
  if (owner) throw refuse(`${as(owner)} owns table ${owner.table_name}`);
  const writer = rows.find((r) => r.writes && r.writes.length > 0);
  if (writer) throw refuse(`${as(writer)} has ${writer.writes!.join(", ")} on table ${writer.table_name}`);
  const blind = mine.find((r) => !r.can_select);
  if (blind)
    throw new OrdersDatabaseError(
      `role "${user}" may not SELECT from table ${blind.table_name} of the orders database at ${location}; grant it SELECT on every orders table`,
    );
}
