import type { Governance } from "./governance-context.ts";

/** One thing a replica needs before it takes traffic. */
export interface ReadinessCheck {
  name: string;
  /** Passes unless it rejects or resolves `false`. */
  check(): Promise<unknown>;
}

/** What the governed pipeline needs from outside the process: the store (audit, kill switches, approvals). */
export function governanceReadiness(gov: Governance): ReadinessCheck[] {
  return [
    {
      name: "store",
      check: async () => {
        await gov.store.db.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
      },
    },
  ];
}
