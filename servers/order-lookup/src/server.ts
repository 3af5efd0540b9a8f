import { join } from "node:path";
import { defineServer } from "@gatehouse/kit";
import pkg from "../package.json" with { type: "json" };
import { loadOrdersConfig } from "./config.ts";
import { Orders } from "./orders.ts";
import { openOrdersDatabase } from "./orders-db.ts";
import type { OrderLookupServices } from "./services.ts";
import { getOrder } from "./tools/get-order.ts";
import { listCustomerOrders } from "./tools/list-customer-orders.ts";
import { listLateOrders } from "./tools/list-late-orders.ts";
import { listUnpaidInvoices } from "./tools/list-unpaid-invoices.ts";
import { searchCustomers } from "./tools/search-customers.ts";

export const orderLookup = defineServer<OrderLookupServices>({
  name: "order-lookup",
  version: "0.1.0",
  title: "Order lookup",
  instructions:
    "Read-only access to the company's orders: customers, orders, shipments and invoices, limited to your tenant.",
  // Declared once, in package.json "gatehouse", where `gatehouse` finds it without importing this module.
  defaultPort: pkg.gatehouse.defaultPort,
  policyDir: join(import.meta.dirname, "..", "policy"),
  tools: [searchCustomers, listCustomerOrders, getOrder, listLateOrders, listUnpaidInvoices],
  async services({ config, env }) {
    const orders = loadOrdersConfig(env, config.dataDir);
    const database = await openOrdersDatabase(orders.url, orders);
    return { orders: new Orders(database), close: () => database.close() };
  },
});
