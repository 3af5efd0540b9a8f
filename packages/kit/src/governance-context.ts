import { Approvals, AuditLog, KillSwitches, PolicyEngine, RateLimits } from "@gatehouse/governance";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import type { KitConfig } from "./config.ts";

/** Everything the pipeline consults, built once per server process. */
export interface Governance {
  store: Store;
  audit: AuditLog;
  policy: PolicyEngine;
  limits: RateLimits;
  killSwitches: KillSwitches;
  approvals: Approvals;
  maxResultBytes: number;
}

export async function createGovernance(config: KitConfig, policyDirs: string[]): Promise<Governance> {
  const policy = PolicyEngine.load(policyDirs);
  const store = openStore({ databaseUrl: config.databaseUrl, sqlitePath: `${config.dataDir}/gatehouse.db` });
  try {
    await migrateToLatest(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    store,
    audit: new AuditLog(store),
    policy,
    limits: new RateLimits(config.rateLimits),
    killSwitches: new KillSwitches(store, config.killSwitchTtlMs),
    approvals: new Approvals(store, policy, config.approvalTtlSeconds),
    maxResultBytes: config.maxResultBytes,
  };
}
