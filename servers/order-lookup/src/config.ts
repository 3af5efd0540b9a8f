import { z } from "zod";
import { DEFAULT_POSTGRES_LIMITS, type PostgresLimits } from "./orders-db.ts";

const whole = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a whole number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`)
    .optional();

const env = z.object({
  ORDERS_DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => !v?.includes("://") || /^postgres(ql)?:\/\//.test(v), {
      error: "ORDERS_DATABASE_URL must be a postgres:// URL or a SQLite file (file:<path> or a path)",
    }),
  ORDERS_DB_POOL_MAX: whole("ORDERS_DB_POOL_MAX", 1, 100),
  ORDERS_DB_STATEMENT_TIMEOUT_MS: whole("ORDERS_DB_STATEMENT_TIMEOUT_MS", 100, 600_000),
});

export interface OrdersConfig extends PostgresLimits {
  /** postgres://… (read through a read-only role) or a SQLite file (the embedded default). */
  url: string;
}

/** order-lookup's settings from the environment; without ORDERS_DATABASE_URL, the sandbox's SQLite file. */
export function loadOrdersConfig(source: NodeJS.ProcessEnv, dataDir: string): OrdersConfig {
  // Empty means unset, as for DATABASE_URL.
  const set = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ""));
  const parsed = env.safeParse(set);
  if (!parsed.success) {
    // Only the variable and the rule: a URL's value may hold a password.
    throw new Error(
      `invalid order-lookup configuration: ${parsed.error.issues.map((i) => i.message).join("; ")}`,
    );
  }
  const d = parsed.data;
  return {
    url: d.ORDERS_DATABASE_URL ?? `file:${dataDir}/orders.db`,
    poolMax: d.ORDERS_DB_POOL_MAX ?? DEFAULT_POSTGRES_LIMITS.poolMax,
    statementTimeoutMs: d.ORDERS_DB_STATEMENT_TIMEOUT_MS ?? DEFAULT_POSTGRES_LIMITS.statementTimeoutMs,
  };
}
