import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureOrdersDatabase } from "@gatehouse/sandbox";
import {
  createPostgresOrders,
  type OrdersKind,
  type PostgresOrders,
  TEST_ORDERS_DB,
} from "@gatehouse/testing";
import SQLite from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isoNow, Orders } from "../src/orders.ts";
import { type OrdersDatabase, type OrdersDb, openOrdersDatabase } from "../src/orders-db.ts";

// Provided by test/setup/postgres.ts (this package's global setup), which this tsconfig does not include.
declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

/** SQLite always; PostgreSQL where the setup started a cluster (CI always has one). */
const pgAdminUrl = inject("pgAdminUrl");
const kinds: OrdersKind[] = ["sqlite", ...(pgAdminUrl ? (["postgres"] as const) : [])];

/** One seeded PostgreSQL orders database for the whole file (seeding takes seconds). */
let pgOrders: PostgresOrders | undefined;
beforeAll(async () => {
  if (pgAdminUrl) pgOrders = await createPostgresOrders(pgAdminUrl);
});
afterAll(async () => {
  await pgOrders?.drop();
});

async function drain<T>(
  fetch: (cursor?: string) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await fetch(cursor);
    all.push(...page.items);
    if (!page.nextCursor) return all;
    cursor = page.nextCursor;
  }
  throw new Error("pagination never ended");
}

describe.each(kinds)("order-lookup domain queries (%s)", (kind) => {
  let database: OrdersDatabase;
  let db: OrdersDb;
  let orders: Orders;

  beforeAll(async () => {
    if (kind === "sqlite") await ensureOrdersDatabase(TEST_ORDERS_DB);
    database = await openOrdersDatabase(kind === "postgres" ? pgOrders!.readerUrl : `file:${TEST_ORDERS_DB}`);
    db = database.db;
    orders = new Orders(database);
  });

  afterAll(async () => {
    await database?.close();
  });

  /**
   * The database with two extra shipments on an order, a later one and one not shipped yet (NULL, which
   * the dialects sort differently), then back as it was.
   */
  async function withExtraShipment(orderId: string, run: (copy: Orders) => Promise<void>): Promise<void> {
    const shipment = ["SHP-EXTRA-1", orderId, "2099-01-01T00:00:00.000+00:00"];
    if (kind === "postgres" && pgOrders) {
      // The suite's own database, written as its owner (order-lookup's role cannot).
      const owner = new pg.Client({ connectionString: pgOrders.ownerUrl });
      await owner.connect();
      try {
        await owner.query(
          "insert into shipments (id, order_id, carrier, tracking_number, status, shipped_at) values ($1, $2, 'DHL', 'T1', 'exception', $3)",
          shipment,
        );
        await owner.query(
          "insert into shipments (id, order_id, carrier, tracking_number, status) values ('SHP-EXTRA-2', $1, 'DHL', 'T2', 'pending')",
          [orderId],
        );
        await run(orders);
      } finally {
        await owner.query("delete from shipments where id in ('SHP-EXTRA-1', 'SHP-EXTRA-2')");
        await owner.end();
      }
      return;
    }
    // A private copy of the SQLite file: the shared one stays read-only.
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-orders-"));
    const file = join(dir, "orders.db");
    copyFileSync(TEST_ORDERS_DB, file);
    const writable = new SQLite(file);
    writable
      .prepare(
        "insert into shipments (id, order_id, carrier, tracking_number, status, shipped_at) values (?, ?, 'DHL', 'T1', 'exception', ?)",
      )
      .run(...shipment);
    writable
      .prepare(
        "insert into shipments (id, order_id, carrier, tracking_number, status) values ('SHP-EXTRA-2', ?, 'DHL', 'T2', 'pending')",
      )
      .run(orderId);
    writable.close();
    const copy = await openOrdersDatabase(`file:${file}`);
    try {
      await run(new Orders(copy));
    } finally {
      await copy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("pages through every late order of a tenant exactly once", async () => {
    const paged = await drain((c) => orders.lateOrders("emea", 7, c));
    const now = isoNow();
    const expected = await db
      .selectFrom("orders")
      .select("id")
      .where("tenant", "=", "emea")
      .where("status", "in", ["open", "shipped"])
      .where("promised_at", "<", now)
      .execute();
    expect(paged.length).toBeGreaterThan(7);
    expect(new Set(paged.map((o) => o.id))).toEqual(new Set(expected.map((o) => o.id)));
    expect(paged.length).toBe(expected.length);
    expect(paged.every((o) => o.tenant === "emea")).toBe(true);
  });

  it("lists a late order once even when it has several shipments, with the latest one's status", async () => {
    // A second, later shipment on one late order.
    const [late] = (await orders.lateOrders("emea", 50)).items.filter(
      (o) => o.shipment_status && o.shipment_status !== "exception",
    );
    expect(late).toBeDefined();
    await withExtraShipment(late!.id, async (copy) => {
      const listed = await drain((c) => copy.lateOrders("emea", 7, c));
      expect(listed.filter((o) => o.id === late!.id)).toEqual([
        expect.objectContaining({ id: late!.id, shipment_status: "exception" }),
      ]);
      expect(new Set(listed.map((o) => o.id)).size).toBe(listed.length);
    });
  });

  it("pages unpaid invoices in due-date order with correct outstanding amounts", async () => {
    const paged = await drain((c) => orders.unpaidInvoices("na", false, 11, c));
    expect(paged.length).toBeGreaterThan(11);
    expect(paged.map((i) => i.due_at)).toEqual([...paged.map((i) => i.due_at)].sort());
    for (const inv of paged)
      expect(inv.outstanding_cents).toBe(Math.max(0, inv.amount_cents - inv.paid_cents));
  });

  it("pages a customer's orders newest first, every order exactly once", async () => {
    const { customer_id } = await db
      .selectFrom("orders")
      .select("customer_id")
      .where("tenant", "=", "emea")
      .executeTakeFirstOrThrow();
    const paged = await drain((c) => orders.customerOrders("emea", customer_id, undefined, 2, c));
    const expected = await db
      .selectFrom("orders")
      .select("id")
      .where("customer_id", "=", customer_id)
      .execute();
    expect(paged.length).toBe(expected.length);
    expect(new Set(paged.map((o) => o.id))).toEqual(new Set(expected.map((o) => o.id)));
    expect(paged.map((o) => o.ordered_at)).toEqual([...paged.map((o) => o.ordered_at)].sort().reverse());
  });

  it("pages a customer search in name order, every match exactly once", async () => {
    const paged = await drain((c) => orders.searchCustomers("emea", "a", 3, c));
    const names = paged.map((c) => c.name);
    expect(names.length).toBeGreaterThan(6);
    expect(new Set(paged.map((c) => c.id)).size).toBe(paged.length);
    expect(names).toEqual([...names].sort());
  });

  it("never opens the orders database for writing", async () => {
    await expect(db.deleteFrom("orders").where("id", "=", "SO-100001").execute()).rejects.toThrow(
      /readonly|read-only/i,
    );
    const [row] = await db.selectFrom("orders").select("id").where("id", "=", "SO-100001").execute();
    expect(row).toEqual({ id: "SO-100001" });
  });

  it("treats LIKE wildcards in a search as literal characters", async () => {
    expect((await orders.searchCustomers("emea", "%", 50)).items).toEqual([]);
    expect((await orders.searchCustomers("emea", "_", 50)).items).toEqual([]);
    expect((await orders.searchCustomers("emea", "logistik", 50)).items.map((c) => c.domain)).toEqual([
      "nordlicht-logistik.de",
    ]);
  });
});

describe.runIf(pgAdminUrl)("order-lookup on PostgreSQL reads only through a read-only role", () => {
  let admin: pg.Client;
  // Set once the file's beforeAll has made the database.
  const db = () => pgOrders!;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: db().ownerUrl });
    await admin.connect();
  });

  afterAll(async () => {
    // Members first: a role granted to another cannot be dropped before it.
    for (const role of [`${db().reader}_m`, `${db().reader}_w`]) {
      await admin?.query(`drop owned by ${role}`).catch(() => undefined);
      await admin?.query(`drop role if exists ${role}`).catch(() => undefined);
    }
    await admin?.end();
  });

  const urlAs = (role: string) => {
    const u = new URL(db().ownerUrl);
    u.username = role;
    u.password = "s3cret-pw";
    return u.toString();
  };

  it("refuses to start as the database's owner, a superuser, and says so", async () => {
    await expect(openOrdersDatabase(db().ownerUrl)).rejects.toThrow(
      /^refusing to read the orders database at postgres:\/\/.* as a role that can write: role "\w+" is a superuser; connect with a role that may only SELECT/,
    );
  });

  it("refuses a role with one write privilege on one table, naming the role, privilege and table", async () => {
    const writer = `${db().reader}_w`;
    await admin.query(`create role ${writer} login`);
    await admin.query(`grant select on all tables in schema public to ${writer}`);
    await admin.query(`grant update (status) on orders to ${writer}`);
    const refused = openOrdersDatabase(urlAs(writer));
    await expect(refused).rejects.toThrow(`role "${writer}" has UPDATE on table orders`);
    await expect(refused).rejects.not.toThrow(/s3cret-pw/);
  });

  it("refuses a role that may SET ROLE to a writer, even without inheriting its rights", async () => {
    const member = `${db().reader}_m`;
    await admin.query(`create role ${member} login noinherit`);
    await admin.query(`grant select on all tables in schema public to ${member}`);
    await admin.query(`grant ${db().reader}_w to ${member}`);
    await expect(openOrdersDatabase(urlAs(member))).rejects.toThrow(
      `role "${member}" may become "${db().reader}_w", which has UPDATE on table orders`,
    );
  });

  it("answers a statement that outlives the timeout with a clear tool error, not a hang", async () => {
    const reader = await openOrdersDatabase(db().readerUrl, { poolMax: 2, statementTimeoutMs: 300 });
    const locker = new pg.Client({ connectionString: db().ownerUrl });
    await locker.connect();
    try {
      // The owner holds the table: the reader's query waits on it until its statement timeout.
      await locker.query("begin; lock table customers in access exclusive mode");
      const started = Date.now();
      await expect(new Orders(reader).searchCustomers("emea", "a", 5)).rejects.toThrow(
        "the orders database did not answer within 0.3 s; narrow the request",
      );
      expect(Date.now() - started).toBeLessThan(3000);
      await locker.query("rollback");
      // The pool is still good afterwards.
      expect((await new Orders(reader).searchCustomers("emea", "a", 5)).items.length).toBeGreaterThan(0);
    } finally {
      await locker.end();
      await reader.close();
    }
  });

  it("gives every session a read-only default, whatever the role's own settings", async () => {
    await admin.query(`alter role ${db().reader} reset default_transaction_read_only`);
    const reader = await openOrdersDatabase(db().readerUrl);
    try {
      const { sql } = await import("kysely");
      const { rows } = await sql<{
        ro: string;
      }>`select current_setting('default_transaction_read_only') as ro`.execute(reader.db);
      expect(rows).toEqual([{ ro: "on" }]);
    } finally {
      await reader.close();
      await admin.query(`alter role ${db().reader} set default_transaction_read_only = on`);
    }
  });
});
