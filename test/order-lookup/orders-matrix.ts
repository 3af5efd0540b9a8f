import type { OrdersKind, StoreKind } from "@gatehouse/testing";
import { storeMatrix } from "../setup/stores.ts";

export interface OrdersCase {
  storeKind: StoreKind;
  ordersKind: OrdersKind;
  pgAdminUrl?: string;
}

/**
 * order-lookup's suites on both orders databases: the PostgreSQL store case reads PostgreSQL orders too, so
 * the matrix adds no suites; without a cluster (local runs only), SQLite alone.
 */
export function storeAndOrdersMatrix(): OrdersCase[] {
  return storeMatrix().map((s) => ({ ...s, ordersKind: s.storeKind }));
}

/** Both orders databases over the embedded store, for suites that are not about the store. */
export function ordersMatrix(): OrdersCase[] {
  return storeMatrix().map((s) => ({
    storeKind: "sqlite",
    ordersKind: s.storeKind,
    pgAdminUrl: s.pgAdminUrl,
  }));
}
