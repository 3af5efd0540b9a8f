import type { Identity } from "@gatehouse/governance";
import { describe, expect, it } from "vitest";
import { AREAS, ConsolePolicy } from "../src/console-policy.ts";

const person = (user: string, role: string, tenant: string, scopes = ["console:use"]): Identity => ({
  user,
  roles: [role],
  tenant,
  client: "console-test",
  env: "dev",
  tokenId: `t-${user}`,
  scopes,
});

const dave = person("dave", "admin", "emea");
const carol = person("carol", "approver", "emea");
const alice = person("alice", "support_agent", "emea");

describe("who sees what in the console (packages/console/policy, Cedar)", () => {
  const policy = new ConsolePolicy();

  it("lets an admin see and act in every area for every tenant", () => {
    expect(policy.visibleAreas(dave)).toEqual([...AREAS]);
    for (const area of AREAS) {
      expect(policy.reach(dave, area)).toMatchObject({ allowed: true, tenant: null });
      expect(policy.allows(dave, area, "na", "console_act")).toBe(true);
    }
  });

  it("limits an approver to their own tenant's audit, traces, approvals and access, acting only there", () => {
    expect(policy.visibleAreas(carol)).toEqual(["audit", "trace", "approvals", "access"]);
    expect(policy.reach(carol, "access", "console_act")).toMatchObject({ allowed: true, tenant: "emea" });
    expect(policy.allows(carol, "access", "na", "console_act")).toBe(false);
    expect(policy.reach(carol, "audit")).toMatchObject({ allowed: true, tenant: "emea" });
    expect(policy.allows(carol, "approvals", "emea", "console_act")).toBe(true);
    expect(policy.allows(carol, "approvals", "na", "console_act")).toBe(false);
    expect(policy.allows(carol, "audit", "na")).toBe(false);
    for (const area of ["chain", "killswitches"] as const)
      expect(policy.reach(carol, area).allowed).toBe(false);
  });

  it("refuses a support agent everything", () => {
    expect(policy.visibleAreas(alice)).toEqual([]);
    for (const area of AREAS) expect(policy.allows(alice, area, "emea")).toBe(false);
  });

  it("refuses an admin whose token lacks the console:use scope", () => {
    expect(policy.visibleAreas(person("dave", "admin", "emea", ["audit:read"]))).toEqual([]);
  });
});
