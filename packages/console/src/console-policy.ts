import { join } from "node:path";
import { type Identity, PolicyEngine } from "@gatehouse/governance";

/** The console's parts; each is a Cedar resource (Gatehouse::ConsoleArea). */
export const AREAS = ["audit", "trace", "chain", "approvals", "killswitches", "access"] as const;
export type Area = (typeof AREAS)[number];

export const CONSOLE_POLICY_DIR = join(import.meta.dirname, "..", "policy");

/** How far a person reaches in one area: every tenant (tenant null), one tenant, or not at all. */
export type Reach =
  | { allowed: true; tenant: string | null; policyIds: string[] }
  | { allowed: false; policyIds: string[] };

/**
 * Who sees and does what in the console, decided by Cedar (the governance's engine, base policies plus
 * packages/console/policy): the console asks, the policy answers; no role checks in the routes.
 */
export class ConsolePolicy {
  private readonly engine: PolicyEngine;

  constructor(engine: PolicyEngine = PolicyEngine.load([CONSOLE_POLICY_DIR])) {
    this.engine = engine;
  }

  /** Every tenant's data if policy allows "*", else the person's own tenant's if it allows that. */
  reach(identity: Identity, area: Area, action: "console_view" | "console_act" = "console_view"): Reach {
    const all = this.engine.decide({ action, identity, area, targetTenant: "*" });
    if (all.allow) return { allowed: true, tenant: null, policyIds: all.policyIds };
    const own = this.engine.decide({ action, identity, area, targetTenant: identity.tenant });
    if (own.allow) return { allowed: true, tenant: identity.tenant, policyIds: own.policyIds };
    return { allowed: false, policyIds: own.policyIds };
  }

  /** Whether the person may see or act on `tenant`'s data in `area`. */
  allows(
    identity: Identity,
    area: Area,
    tenant: string,
    action: "console_view" | "console_act" = "console_view",
  ): boolean {
    return (
      this.engine.decide({ action, identity, area, targetTenant: "*" }).allow ||
      this.engine.decide({ action, identity, area, targetTenant: tenant }).allow
    );
  }

  /** The areas the person may open at all (the navigation); none means the console refuses them. */
  visibleAreas(identity: Identity): Area[] {
    return AREAS.filter((a) => this.reach(identity, a).allowed);
  }
}
