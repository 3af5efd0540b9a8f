import type { StoreKind } from "@gatehouse/testing";
import { inject } from "vitest";

/** The stores every store-matrix suite runs against: SQLite always, PostgreSQL where the setup started one. */
export function storeMatrix(): Array<{ storeKind: StoreKind; pgAdminUrl?: string }> {
  const pgAdminUrl = inject("pgAdminUrl");
  return [{ storeKind: "sqlite" }, ...(pgAdminUrl ? [{ storeKind: "postgres" as const, pgAdminUrl }] : [])];
}
