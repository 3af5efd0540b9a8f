import { type Kysely, PostgresIntrospector, SqliteIntrospector } from "kysely";

/** The dialect a migration runs on, from the Kysely instance it was handed (its public introspector). */
export function dialectOf(db: Kysely<unknown>): "sqlite" | "postgres" {
  const introspector = db.introspection;
  if (introspector instanceof SqliteIntrospector) return "sqlite";
  if (introspector instanceof PostgresIntrospector) return "postgres";
  throw new Error("migrations: unsupported database dialect");
}
