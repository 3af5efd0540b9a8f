import { Kysely, type RawBuilder, sql } from "kysely";
import { decodeCursor, encodeCursor } from "./cursor.ts";
import { byteOrder, type OrdersDatabase, type OrdersDb } from "./orders-db.ts";

/**
 * Timestamps in the SQLite orders database are ISO text with a +00:00 offset (as Prisma writes them); the
 * PostgreSQL connection reads its timestamps in the same shape (orders-db.ts), so the queries here are one.
 */
export function isoNow(now = new Date()): string {
  return now.toISOString().replace("Z", "+00:00");
}

const DAY = 86_400_000;
const daysBetween = (from: string, to: string) =>
  Math.max(0, Math.floor((Date.parse(to) - Date.parse(from)) / DAY));

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Keyset pagination: rows strictly after the cursor's (sort key, id) in the query's order. A row-value
 * comparison, which SQLite and PostgreSQL both support, instead of the same OR/AND tree in every query.
 */
function afterKey(
  sortColumn: string | RawBuilder<unknown>,
  idColumn: string | RawBuilder<unknown>,
  direction: "<" | ">",
  after: [string, string],
) {
  const col = (c: string | RawBuilder<unknown>) => (typeof c === "string" ? sql.ref(c) : c);
  return sql<boolean>`(${col(sortColumn)}, ${col(idColumn)}) ${sql.raw(direction)} (${after[0]}, ${after[1]})`;
}

function page<T>(rows: T[], limit: number, key: (row: T) => [string, string]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(key(last)) : null };
}

/** The domain queries order-lookup's tools run. Tenancy filters here are the query's scope; policy decides access. */
export class Orders {
  private readonly db: OrdersDb;
  private readonly dialect: OrdersDatabase["dialect"];
  private readonly clock: () => Date;

  /** A bare Kysely handle is taken to be SQLite (the embedded default). */
  constructor(
    database: OrdersDb | Pick<OrdersDatabase, "db" | "dialect">,
    clock: () => Date = () => new Date(),
  ) {
    this.db = database instanceof Kysely ? database : database.db;
    this.dialect = database instanceof Kysely ? "sqlite" : database.dialect;
    this.clock = clock;
  }

  async searchCustomers(tenant: string, query: string, limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    const pattern = `%${query.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    let q = this.db
      .selectFrom("customers")
      .selectAll()
      .where("tenant", "=", tenant)
      .where((eb) =>
        eb.or([
          sql<boolean>`lower(name) like ${pattern} escape '\\'`,
          sql<boolean>`lower(domain) like ${pattern} escape '\\'`,
        ]),
      );
    // Name order by bytes on both dialects: PostgreSQL would otherwise sort by its locale.
    const name = byteOrder(this.dialect, "name");
    const id = byteOrder(this.dialect, "id");
    if (after) q = q.where(afterKey(name, id, ">", after));
    const rows = await q
      .orderBy(name)
      .orderBy(id)
      .limit(limit + 1)
      .execute();
    return page(rows, limit, (r) => [r.name, r.id]);
  }

  async customerOrders(
    tenant: string,
    customerId: string,
    status: string | undefined,
    limit: number,
    cursor?: string,
  ) {
    const after = decodeCursor(cursor);
    let q = this.db
      .selectFrom("orders as o")
      .leftJoin("invoices as i", "i.order_id", "o.id")
      .select([
        "o.id",
        "o.tenant",
        "o.status",
        "o.ordered_at",
        "o.promised_at",
        "o.currency",
        "o.total_cents",
        "i.status as invoice_status",
      ])
      .where("o.tenant", "=", tenant)
      .where("o.customer_id", "=", customerId);
    if (status) q = q.where("o.status", "=", status);
    if (after) q = q.where(afterKey("o.ordered_at", "o.id", "<", after));
    const rows = await q
      .orderBy("o.ordered_at", "desc")
      .orderBy("o.id", "desc")
      .limit(limit + 1)
      .execute();
    const now = isoNow(this.clock());
    return page(
      rows.map((r) => ({
        ...r,
        late: (r.status === "open" || r.status === "shipped") && r.promised_at < now,
      })),
      limit,
      (r) => [r.ordered_at, r.id],
    );
  }

  async order(orderId: string) {
    const order = await this.db
      .selectFrom("orders as o")
      .innerJoin("customers as c", "c.id", "o.customer_id")
      .select([
        "o.id",
        "o.tenant",
        "o.status",
        "o.ordered_at",
        "o.promised_at",
        "o.currency",
        "o.total_cents",
        "c.id as customer_id",
        "c.name as customer_name",
        "c.domain as customer_domain",
        "c.contact_email",
        "c.contact_phone",
      ])
      .where("o.id", "=", orderId)
      .executeTakeFirst();
    if (!order) return undefined;
    const [lines, shipments, invoice] = await Promise.all([
      this.db
        .selectFrom("order_lines")
        .selectAll()
        .where("order_id", "=", orderId)
        .orderBy("line_no")
        .execute(),
      this.db.selectFrom("shipments").selectAll().where("order_id", "=", orderId).orderBy("id").execute(),
      this.db.selectFrom("invoices").selectAll().where("order_id", "=", orderId).executeTakeFirst(),
    ]);
    const payments = invoice
      ? await this.db
          .selectFrom("payments")
          .selectAll()
          .where("invoice_id", "=", invoice.id)
          .orderBy("received_at")
          .orderBy("id")
          .execute()
      : [];
    const now = isoNow(this.clock());
    const paid = payments.filter((p) => p.kind === "payment").reduce((n, p) => n + p.amount_cents, 0);
    const refunded = payments.filter((p) => p.kind === "refund").reduce((n, p) => n + p.amount_cents, 0);
    const outstanding =
      invoice && invoice.status !== "void" && invoice.status !== "refunded"
        ? Math.max(0, invoice.amount_cents - paid)
        : 0;
    return {
      ...order,
      late: (order.status === "open" || order.status === "shipped") && order.promised_at < now,
      lines,
      shipments,
      invoice: invoice
        ? {
            ...invoice,
            paid_cents: paid,
            refunded_cents: refunded,
            outstanding_cents: outstanding,
            overdue: outstanding > 0 && invoice.due_at < now,
          }
        : null,
    };
  }

  async lateOrders(tenant: string, limit: number, cursor?: string) {
    const after = decodeCursor(cursor);
    const now = isoNow(this.clock());
    let q = this.db
      .selectFrom("orders as o")
      .innerJoin("customers as c", "c.id", "o.customer_id")
      .select((eb) => [
        "o.id",
        "o.tenant",
        "o.status",
        "o.promised_at",
        "c.id as customer_id",
        "c.name as customer_name",
        // The latest shipment's status: a join would list an order once per shipment.
        eb
          .selectFrom("shipments as s")
          .select("s.status")
          .whereRef("s.order_id", "=", "o.id")
          // Unshipped (NULL) last, said explicitly: SQLite and PostgreSQL disagree on where NULLs sort.
          .orderBy("s.shipped_at", (o) => o.desc().nullsLast())
          .orderBy("s.id", "desc")
          .limit(1)
          .as("shipment_status"),
      ])
      .where("o.tenant", "=", tenant)
      .where("o.status", "in", ["open", "shipped"])
      .where("o.promised_at", "<", now);
    if (after) q = q.where(afterKey("o.promised_at", "o.id", ">", after));
    const rows = await q
      .orderBy("o.promised_at")
      .orderBy("o.id")
      .limit(limit + 1)
      .execute();
    return page(
      rows.map((r) => ({ ...r, days_late: daysBetween(r.promised_at, now) })),
      limit,
      (r) => [r.promised_at, r.id],
    );
  }

  async unpaidInvoices(
    tenant: string,
    overdueOnly: boolean,
    limit: number,
    cursor?: string,
    customerId?: string,
  ) {
    const after = decodeCursor(cursor);
    const now = isoNow(this.clock());
    const paid = this.db
      .selectFrom("payments")
      .select([
        "invoice_id",
        sql<number>`sum(case when kind = 'payment' then amount_cents else 0 end)`.as("paid_cents"),
      ])
      .groupBy("invoice_id")
      .as("p");
    let q = this.db
      .selectFrom("invoices as i")
      .innerJoin("orders as o", "o.id", "i.order_id")
      .leftJoin(paid, "p.invoice_id", "i.id")
      .select([
        "i.id",
        "i.tenant",
        "i.order_id",
        "o.customer_id",
        "o.currency",
        "i.amount_cents",
        "i.due_at",
        "i.status",
        sql<number>`coalesce(p.paid_cents, 0)`.as("paid_cents"),
      ])
      .where("i.tenant", "=", tenant)
      .where("i.status", "in", ["open", "partially_paid"]);
    if (overdueOnly) q = q.where("i.due_at", "<", now);
    if (customerId) q = q.where("o.customer_id", "=", customerId);
    if (after) q = q.where(afterKey("i.due_at", "i.id", ">", after));
    const rows = await q
      .orderBy("i.due_at")
      .orderBy("i.id")
      .limit(limit + 1)
      .execute();
    return page(
      rows.map((r) => ({
        ...r,
        outstanding_cents: Math.max(0, r.amount_cents - r.paid_cents),
        days_overdue: r.due_at < now ? daysBetween(r.due_at, now) : 0,
      })),
      limit,
      (r) => [r.due_at, r.id],
    );
  }
}
