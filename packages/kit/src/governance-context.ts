import {
  AccessSeen,
  Approvals,
  AuditLog,
  KillSwitches,
  PolicyEngine,
  RateLimits,
  Revocations,
} from "@gatehouse/governance";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import type { KitConfig } from "./config.ts";

/** Everything the pipeline consults, built once per server process. */
export interface Governance {
  store: Store;
  audit: AuditLog;
  policy: PolicyEngine;
  limits: RateLimits;
  killSwitches: KillSwitches;
  /** Revoked people, clients and tokens: refused at the identity stage. */
  revocations: Revocations;
  /** Who reached this server through which client and token, for the access inventory. */
  accessSeen: AccessSeen;
  approvals: Approvals;
  maxResultBytes: number;
  /** Where a person approves a send (the operator console); named in approval refusals when set. */
  consoleUrl?: string;
}

/**
 * A start-up failure whose message says what is wrong and what to do, in one line: printed as it is,
 * after the server's name, without a stack.
 */
export class StartupError extends Error {}

/** Why a connection to PostgreSQL failed, in a few words (the driver's error codes, not its text). */
function databaseProblem(err: unknown, location: string): string {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; errors?: Array<{ code?: unknown }> };
  // Several addresses of one host fail together as an AggregateError (its code may be missing).
  const code = String(e.code ?? e.errors?.[0]?.code ?? "");
  const message = typeof e.message === "string" ? e.message : "";
  const unreachable = (why: string) =>
    `cannot reach the database at ${location} (${why}); check DATABASE_URL`;
  if (code === "ECONNREFUSED") return unreachable("connection refused");
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return unreachable("no such host");
  if (code === "ETIMEDOUT" || /timeout|timed out/i.test(message)) return unreachable("timed out");
  if (code === "ECONNRESET" || /terminated/i.test(message)) return unreachable("connection closed");
  if (code === "28P01" || code === "28000")
    return `the database at ${location} refused the credentials; check the user and password in DATABASE_URL`;
  if (code === "3D000") return `the database at ${location} does not exist; create it or check DATABASE_URL`;
  return unreachable(code || "connection failed");
}

/**
 * The rate limits: in process, or with REDIS_URL in Redis, shared by every replica of this server (its
 * name keeps one server's buckets apart from another's). Redis out of reach stops the start-up.
 */
async function createRateLimits(config: KitConfig, server: string | undefined): Promise<RateLimits> {
  if (!config.redisUrl) return new RateLimits(config.rateLimits);
  // Loaded only when configured, so a server without Redis never loads the client.
  const { RedisRateLimitStore } = await import("@gatehouse/governance/redis-rate-limits");
  const store = new RedisRateLimitStore({
    url: config.redisUrl,
    keyPrefix: `gatehouse:rl:${server ?? "default"}`,
  });
  const limits = new RateLimits(config.rateLimits, store);
  try {
    await limits.ping();
  } catch (err) {
    await limits.close();
    throw new StartupError(`${(err as Error).message}; check REDIS_URL`);
  }
  return limits;
}

export async function createGovernance(
  config: KitConfig,
  policyDirs: string[],
  opts: { server?: string } = {},
): Promise<Governance> {
  const policy = PolicyEngine.load(policyDirs);
  const store = openStore({ databaseUrl: config.databaseUrl, sqlitePath: `${config.dataDir}/gatehouse.db` });
  let limits: RateLimits;
  try {
    if (store.dialect === "postgres") {
      // Connect once before migrating, so a database out of reach is reported as that, not as a migration.
      await store.db
        .selectNoFrom((eb) => eb.lit(1).as("one"))
        .execute()
        .catch((err: unknown) => {
          throw new StartupError(databaseProblem(err, store.location));
        });
    }
    await migrateToLatest(store);
    limits = await createRateLimits(config, opts.server);
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    store,
    audit: new AuditLog(store),
    policy,
    limits,
    killSwitches: new KillSwitches(store, config.killSwitchTtlMs),
    revocations: new Revocations(store, config.revocationTtlMs),
    accessSeen: new AccessSeen(store),
    approvals: new Approvals(store, policy, config.approvalTtlSeconds),
    maxResultBytes: config.maxResultBytes,
    consoleUrl: config.consoleUrl,
  };
}
