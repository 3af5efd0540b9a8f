import { randomBytes } from "node:crypto";
import { ensurePostgresOrdersDatabase } from "@gatehouse/sandbox/orders";
import pg from "pg";

/** Where a suite's orders database lives: the embedded SQLite file, or PostgreSQL through a read-only role. */
export type OrdersKind = "sqlite" | "postgres";

export interface PostgresOrders {
  /** ORDERS_DATABASE_URL for order-lookup: the read-only role. */
  readerUrl: string;
  /** The same database as its owner (the admin): order-lookup must refuse it. */
  ownerUrl: string;
  database: string;
  reader: string;
  drop(): Promise<void>;
}

/**
 * A seeded orders database of one suite on the test cluster, made by the sandbox exactly as `gatehouse`
 * makes one (Prisma migrations, seed, read-only role), under names of its own so suites run in parallel.
 */
export async function createPostgresOrders(adminUrl: string): Promise<PostgresOrders> {
  const suffix = randomBytes(5).toString("hex");
  const made = await ensurePostgresOrdersDatabase({
    adminUrl,
    database: `gatehouse_test_orders_${suffix}`,
    reader: `gatehouse_test_reader_${suffix}`,
  });
  return {
    readerUrl: made.readerUrl,
    ownerUrl: made.ownerUrl,
    database: made.database,
    reader: made.reader,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${made.database} with (force)`);
        await c.query(`drop role if exists ${made.reader}`);
      } finally {
        await c.end();
      }
    },
  };
}

/** One query on a PostgreSQL orders database (tests that look at or hold it); the connection is closed after. */
export async function queryPostgres<R extends Record<string, unknown>>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/**
 * Holds an exclusive lock on one table as the owner until `release`: every read of it waits, so a test can
 * make a query outlive its statement timeout without a slow query of its own.
 */
export async function holdTableLock(ownerUrl: string, table: string): Promise<{ release(): Promise<void> }> {
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  await c.query(`begin; lock table ${c.escapeIdentifier(table)} in access exclusive mode`);
  return {
    async release() {
      await c.query("rollback").catch(() => undefined);
      await c.end();
    },
  };
}
