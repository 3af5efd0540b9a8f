import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureOrdersDatabase } from "@gatehouse/sandbox";
import { TEST_ORDERS_DB } from "@gatehouse/testing";
import SQLite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isoNow, Orders } from "../src/orders.ts";
import { type OrdersDb, openOrdersDb } from "../src/orders-db.ts";

let db: OrdersDb;
let orders: Orders;

beforeAll(async () => {
  await ensureOrdersDatabase(TEST_ORDERS_DB);
  db = openOrdersDb(`file:${TEST_ORDERS_DB}`);
  orders = new Orders(db);
});

afterAll(async () => {
  await db?.destroy();
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

describe("order-lookup domain queries", () => {
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
    // A private copy of the orders database with a second, later shipment on one late order.
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-orders-"));
    const file = join(dir, "orders.db");
    copyFileSync(TEST_ORDERS_DB, file);
    const [late] = (await orders.lateOrders("emea", 50)).items.filter((o) => o.shipment_status);
    expect(late).toBeDefined();
    const writable = new SQLite(file);
    writable
      .prepare(
        "insert into shipments (id, order_id, carrier, tracking_number, status, shipped_at) values (?, ?, 'DHL', 'T1', 'exception', ?)",
      )
      .run("SHP-EXTRA-1", late!.id, "2099-01-01T00:00:00.000+00:00");
    writable.close();
    const copy = openOrdersDb(`file:${file}`);
    try {
      const listed = await drain((c) => new Orders(copy).lateOrders("emea", 7, c));
      expect(listed.filter((o) => o.id === late!.id)).toEqual([
        expect.objectContaining({ id: late!.id, shipment_status: "exception" }),
      ]);
      expect(new Set(listed.map((o) => o.id)).size).toBe(listed.length);
    } finally {
      await copy.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
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
      /readonly|read-only|query_only/i,
    );
  });

  it("treats LIKE wildcards in a search as literal characters", async () => {
    expect((await orders.searchCustomers("emea", "%", 50)).items).toEqual([]);
    expect((await orders.searchCustomers("emea", "_", 50)).items).toEqual([]);
    expect((await orders.searchCustomers("emea", "logistik", 50)).items.map((c) => c.domain)).toEqual([
      "nordlicht-logistik.de",
    ]);
  });
});
