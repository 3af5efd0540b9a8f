import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/orders-prisma/client.ts";
import { PrismaClient as PrismaPostgresClient } from "../generated/orders-prisma-postgres/client.ts";
import { buildOrdersSeed } from "./seed-data.ts";

/** Where the orders schema, its migrations and prisma.config.ts live: the order-lookup package owns them. */
const orderLookupDir = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  "..",
  "..",
  "servers",
  "order-lookup",
);

/**
 * Creates the sandbox copy of the company's orders database, if it is not there yet: Prisma applies the
 * schema's migrations to a fresh SQLite file, then the Prisma Client seeds it. The file is built under a
 * temporary name and renamed, so concurrent starters never see a half-seeded database.
 */
export async function ensureOrdersDatabase(
  file: string,
  opts: { now?: Date } = {},
): Promise<{ file: string; created: boolean }> {
  const target = resolve(file);
  if (existsSync(target)) return { file: target, created: false };
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.building-${process.pid}-${Date.now()}`;
  try {
    migrateDeploy(`file:${temp}`, "prisma.config.ts");
    await seed(new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${temp}` }) }), opts.now);
    if (!existsSync(target)) renameSync(temp, target);
  } finally {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) rmSync(f, { force: true });
  }
  return { file: target, created: true };
}

/** `prisma migrate deploy` of the orders migrations for one provider (its own config file). */
function migrateDeploy(url: string, config: "prisma.config.ts" | "prisma.postgres.config.ts"): void {
  const require = createRequire(join(orderLookupDir, "package.json"));
  const prismaCli = join(dirname(require.resolve("prisma/package.json")), "build", "index.js");
  const preload = join(dirname(fileURLToPath(import.meta.url)), "unref-long-timers.cjs");
  const args = ["-r", preload, prismaCli, "migrate", "deploy", "--config", config];
  const result = spawnSync(process.execPath, args, {
    cwd: orderLookupDir,
    env: {
      ...process.env,
      ORDERS_DATABASE_URL: url,
      CHECKPOINT_DISABLE: "1",
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (result.status !== 0) {
    // Prisma's output names the database without its password; the URL itself is never printed.
    throw new Error(
      `prisma migrate deploy failed for the sandbox orders database:\n${result.stderr || result.stdout || result.error}`,
    );
  }
}

async function seed(prisma: PrismaClient, now?: Date): Promise<void> {
  try {
    const data = buildOrdersSeed({ now });
    await prisma.$transaction([
      prisma.customer.createMany({ data: data.customers }),
      prisma.order.createMany({ data: data.orders }),
      prisma.orderLine.createMany({ data: data.lines }),
      prisma.shipment.createMany({ data: data.shipments }),
      prisma.invoice.createMany({ data: data.invoices }),
      prisma.payment.createMany({ data: data.payments }),
    ]);
  } finally {
    await prisma.$disconnect();
  }
}

export interface PostgresOrdersDatabase {
  /** The database's name on the cluster. */
  database: string;
  /** The read-only role order-lookup connects as. */
  reader: string;
  /** ORDERS_DATABASE_URL for order-lookup: the reader's URL. It holds the reader's password: never print it. */
  readerUrl: string;
  /** The admin's URL of the orders database: it can write, so order-lookup refuses it. */
  ownerUrl: string;
  created: boolean;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates the sandbox orders database on PostgreSQL, if it is not there yet, from the same Prisma model and
 * migrations as the SQLite one (prisma/postgres), seeded by the Prisma Client, plus a read-only role for
 * order-lookup: LOGIN, SELECT on the orders tables only, every transaction read-only. The database is built
 * under a temporary name and renamed, so concurrent starters never see a half-seeded one. `adminUrl` is a
 * role that may create databases and roles; the reader's password is set on every call (random unless given).
 */
export async function ensurePostgresOrdersDatabase(opts: {
  adminUrl: string;
  database?: string;
  reader?: string;
  readerPassword?: string;
  now?: Date;
}): Promise<PostgresOrdersDatabase> {
  const database = opts.database ?? "gatehouse_orders";
  const reader = opts.reader ?? "gatehouse_orders_reader";
  for (const [what, name] of [
    ["database", database],
    ["reader role", reader],
  ] as const)
    if (!IDENTIFIER.test(name))
      throw new Error(`the orders ${what} name "${name}" must be lowercase letters, digits and _`);
  const password = opts.readerPassword ?? randomBytes(18).toString("base64url");
  const urlOf = (db: string, user?: { name: string; password: string }) => {
    const u = new URL(opts.adminUrl);
    u.pathname = `/${db}`;
    if (user) {
      u.username = user.name;
      u.password = user.password;
    }
    return u.toString();
  };
  const admin = new pg.Client({ connectionString: opts.adminUrl });
  await admin.connect();
  let created = false;
  try {
    const exists = async (name: string) =>
      (await admin.query("select 1 from pg_database where datname = $1", [name])).rowCount === 1;
    await ensureReaderRole(admin, reader, password);
    if (!(await exists(database))) {
      const temp = `${database.slice(0, 40)}_building_${randomBytes(4).toString("hex")}`;
      await admin.query(`create database ${temp}`);
      try {
        migrateDeploy(urlOf(temp), "prisma.postgres.config.ts");
        const adapter = new PrismaPg({ connectionString: urlOf(temp), max: 2 });
        // The two generated clients differ only in their provider; seeding uses what both have alike
        // (createMany, $transaction), which their generated types cannot show one another.
        await seed(new PrismaPostgresClient({ adapter }) as unknown as PrismaClient, opts.now);
        await grantReader(urlOf(temp), temp, reader);
        if (!(await exists(database))) {
          // Renaming needs the database idle: Prisma's connections may still be closing.
          await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [
            temp,
          ]);
          await admin.query(`alter database ${temp} rename to ${database}`);
          created = true;
        }
      } finally {
        if (!created) await admin.query(`drop database if exists ${temp} with (force)`);
      }
    } else {
      // An existing database may predate this role (or the role was dropped): grant again, idempotently.
      await grantReader(urlOf(database), database, reader);
    }
  } finally {
    await admin.end();
  }
  return {
    database,
    reader,
    readerUrl: urlOf(database, { name: reader, password }),
    ownerUrl: urlOf(database),
    created,
  };
}

/** The reader role: can log in and read, nothing else; its sessions are read-only by default too. */
async function ensureReaderRole(admin: pg.Client, reader: string, password: string): Promise<void> {
  const secret = admin.escapeLiteral(password);
  try {
    await admin.query(
      `create role ${reader} login nosuperuser nocreatedb nocreaterole noinherit password ${secret}`,
    );
  } catch (err) {
    // Another starter made it first, or an earlier run did: reset what matters.
    if ((err as { code?: string }).code !== "42710") throw err;
    await admin.query(
      `alter role ${reader} login nosuperuser nocreatedb nocreaterole noinherit password ${secret}`,
    );
  }
  await admin.query(`alter role ${reader} set default_transaction_read_only = on`);
}

const ORDERS_TABLES = ["customers", "orders", "order_lines", "shipments", "invoices", "payments"];

async function grantReader(url: string, database: string, reader: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`grant connect on database ${database} to ${reader}`);
    await c.query(`grant usage on schema public to ${reader}`);
    await c.query(`grant select on ${ORDERS_TABLES.join(", ")} to ${reader}`);
  } finally {
    await c.end();
  }
}
