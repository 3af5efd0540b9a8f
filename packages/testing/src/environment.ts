import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditLog, Revocations } from "@gatehouse/governance";
import { ensureOrdersDatabase, mintToken, type RunningIssuer, startIssuer } from "@gatehouse/sandbox";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { createPostgresOrders, type OrdersKind } from "./orders-postgres.ts";
import { createPostgresDatabase, type StoreKind } from "./stores.ts";

export interface TestEnvironment {
  storeKind: StoreKind;
  /** Where order-lookup's orders database is: the shared SQLite file, or this suite's PostgreSQL one. */
  ordersKind: OrdersKind;
  dataDir: string;
  issuer: RunningIssuer;
  /** The environment a server process needs to join this test world (issuer, store, orders database). */
  env: Record<string, string>;
  /** The same store the servers write, opened in the test process. */
  store: Store;
  audit: AuditLog;
  mint(
    user: string,
    opts: { audience: string; scopes?: string[]; ttlSeconds?: number; issuer?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

/** One shared, seeded orders database per test run: it is read-only for every server. */
export const TEST_ORDERS_DB = join(tmpdir(), "gatehouse-test-orders", "orders.db");

/**
 * A private world for one suite: its own data directory and sandbox issuer, a fresh store (a SQLite
 * file, or a new PostgreSQL database), and the seeded orders database.
 */
export async function createTestEnvironment(opts: {
  storeKind: StoreKind;
  pgAdminUrl?: string;
  /** `postgres`: a seeded orders database of this suite, read through its read-only role. */
  ordersKind?: OrdersKind;
}): Promise<TestEnvironment> {
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-test-"));
  await ensureOrdersDatabase(TEST_ORDERS_DB);
  let databaseUrl: string | undefined;
  let dropDb: (() => Promise<void>) | undefined;
  if (opts.storeKind === "postgres") {
    if (!opts.pgAdminUrl) throw new Error("postgres store requested but no PostgreSQL is available");
    const created = await createPostgresDatabase(opts.pgAdminUrl);
    databaseUrl = created.url;
    dropDb = created.drop;
  }
  const ordersKind = opts.ordersKind ?? "sqlite";
  let ordersPg: Awaited<ReturnType<typeof createPostgresOrders>> | undefined;
  if (ordersKind === "postgres") {
    if (!opts.pgAdminUrl) throw new Error("postgres orders requested but no PostgreSQL is available");
    ordersPg = await createPostgresOrders(opts.pgAdminUrl);
  }
  const store = openStore({ databaseUrl, sqlitePath: join(dataDir, "gatehouse.db") });
  await migrateToLatest(store);
  // The issuer enforces the store's revocation list, as `gatehouse start`'s does.
  const issuer = await startIssuer({ dataDir, port: 0, revocations: new Revocations(store, 0) });
  const env: Record<string, string> = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_ISSUER: issuer.url,
    ORDERS_DATABASE_URL: ordersPg?.readerUrl ?? `file:${TEST_ORDERS_DB}`,
    GATEHOUSE_KILLSWITCH_TTL_MS: "200",
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATABASE_URL: "" }),
  };
  return {
    storeKind: opts.storeKind,
    ordersKind,
    dataDir,
    issuer,
    env,
    store,
    audit: new AuditLog(store),
    mint: (user, m) =>
      mintToken(issuer.keys, {
        issuer: m.issuer ?? issuer.url,
        user,
        audience: m.audience,
        scopes: m.scopes,
        ttlSeconds: m.ttlSeconds,
      }),
    async close() {
      await issuer.close();
      await store.close();
      await dropDb?.();
      await ordersPg?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The settings that point a server at the HubSpot and Jira stand-ins. */
export function standInEnv(systems: {
  hubspot?: { url: string; token: string };
  jira?: { url: string; email: string; apiToken: string };
}): Record<string, string> {
  return {
    ...(systems.hubspot
      ? { HUBSPOT_BASE_URL: systems.hubspot.url, HUBSPOT_ACCESS_TOKEN: systems.hubspot.token }
      : {}),
    ...(systems.jira
      ? {
          JIRA_BASE_URL: systems.jira.url,
          JIRA_EMAIL: systems.jira.email,
          JIRA_API_TOKEN: systems.jira.apiToken,
        }
      : {}),
  };
}
