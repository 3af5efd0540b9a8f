import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";

// Prisma's JS engine and a driver adapter: migrations run offline, with no engine download.
// ORDERS_DATABASE_URL must be an absolute `file:` URL (the adapter resolves paths against the cwd).
const url = process.env.ORDERS_DATABASE_URL ?? "file:/tmp/gatehouse-orders-generate.db";

export default defineConfig({
  engine: "js",
  experimental: { adapter: true },
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    return new PrismaBetterSQLite3({ url });
  },
});
