import path from "node:path";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { defineConfig } from "prisma/config";

// The PostgreSQL twin of prisma.config.ts: the same model, its own migrations (Prisma ties migrations to one
// provider). ORDERS_DATABASE_URL is a postgres:// URL of a role that may create tables (the owner).
const url = process.env.ORDERS_DATABASE_URL ?? "postgres://localhost/gatehouse_orders_generate";

/**
 * The schema engine reads catalog columns of type "char" (OID 18) and name (OID 19), which adapter-pg cannot
 * map (prisma/orm#27403); both arrive as text anyway, so they are relabelled text (25).
 */
class CatalogTextPool extends pg.Pool {
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads; this only post-processes the result.
  override query(...args: any[]): any {
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    const result = (super.query as (...a: any[]) => any)(...args);
    if (typeof args.at(-1) === "function" || !result?.then) return result;
    return result.then((res: pg.QueryResult) => {
      for (const field of res.fields ?? [])
        if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
      return res;
    });
  }
}

// A short idle timeout: the CLI never closes the pool, and idle connections would hold it open for 10 s.
export default defineConfig({
  engine: "js",
  experimental: { adapter: true },
  schema: path.join("prisma", "postgres", "schema.prisma"),
  migrations: { path: path.join("prisma", "postgres", "migrations") },
  async adapter() {
    return new PrismaPg(new CatalogTextPool({ connectionString: url, max: 2, idleTimeoutMillis: 100 }), {
      disposeExternalPool: true,
    });
  },
});
