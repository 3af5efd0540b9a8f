import { memoryRateLimitStore } from "@gatehouse/governance";
import type { Governance } from "./governance-context.ts";

/** One thing a replica needs before it takes traffic. */
export interface ReadinessCheck {
  name: string;
  /** Passes unless it rejects or resolves `false`. */
  check(): Promise<unknown>;
}

/**
 * What the governed pipeline needs from outside the process: the store (audit, kill switches, approvals) and,
 * when buckets are shared (REDIS_URL), the rate-limit counters — without them every call would be refused.
 */
export function governanceReadiness(gov: Governance): ReadinessCheck[] {
  const checks: ReadinessCheck[] = [
    {
      name: "store",
      check: async () => {
        await gov.store.db.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
      },
    },
  ];
  if (gov.limits.location !== memoryRateLimitStore.location) {
    checks.push({ name: "rate_limits", check: () => gov.limits.ping() });
  }
  return checks;
}
