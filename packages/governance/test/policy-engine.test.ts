import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Identity, PolicyEngine, PolicyLoadError, type ToolResource } from "../src/index.ts";

// A fixture shaped like order-lookup's policies, kept here so a server's edits cannot change these tests.
const ORDER_LOOKUP_POLICY = fileURLToPath(new URL("./fixtures/policy", import.meta.url));

function identity(overrides: Partial<Identity> = {}): Identity {
  return {
    user: "alice",
    roles: ["support_agent"],
    tenant: "emea",
    client: "claude-desktop",
    env: "test",
    tokenId: "token-1",
    scopes: ["orders:read"],
    ...overrides,
  };
}

const admin = (overrides: Partial<Identity> = {}) =>
  identity({ user: "root", roles: ["admin"], scopes: ["orders:read", "orders:pii"], ...overrides });

const getOrder: ToolResource = {
  server: "order-lookup",
  name: "get_order",
  kind: "read",
  scope: "orders:read",
};
/** For see_pii the resource is the tool with its PII scope. */
const getOrderPii: ToolResource = { ...getOrder, scope: "orders:pii" };

let engine: PolicyEngine;

beforeAll(() => {
  engine = PolicyEngine.load([ORDER_LOOKUP_POLICY]);
});

describe("policy engine with the base and order-lookup policies", () => {
  it("lets a support agent call a read tool in their own tenant, naming the permit", () => {
    const d = engine.decide({
      action: "call_tool",
      identity: identity(),
      tool: getOrder,
      targetTenant: "emea",
    });
    expect(d).toEqual({ allow: true, policyIds: ["order-lookup.support-agents-read-orders"], errors: [] });
  });

  it("refuses a support agent's call into another tenant", () => {
    const d = engine.decide({
      action: "call_tool",
      identity: identity(),
      tool: getOrder,
      targetTenant: "na",
    });
    expect(d.allow).toBe(false);
    expect(d.policyIds).toEqual(["base.calls-stay-in-own-tenant"]);
  });

  it("refuses a call whose token lacks the tool's scope, whatever the role allows", () => {
    const d = engine.decide({
      action: "call_tool",
      identity: identity({ scopes: ["tickets:draft"] }),
      tool: getOrder,
      targetTenant: "emea",
    });
    expect(d.allow).toBe(false);
    expect(d.policyIds).toEqual(["base.token-must-carry-tool-scope"]);
  });

  it("refuses an admin whose token lacks the tool's scope", () => {
    const d = engine.decide({
      action: "call_tool",
      identity: admin({ scopes: [] }),
      tool: getOrder,
      targetTenant: "emea",
    });
    expect(d.allow).toBe(false);
    expect(d.policyIds).toEqual(["base.token-must-carry-tool-scope"]);
  });

  it("refuses a caller with no matching role (default deny)", () => {
    const d = engine.decide({
      action: "call_tool",
      identity: identity({ roles: ["intern"] }),
      tool: getOrder,
      targetTenant: "emea",
    });
    expect(d).toEqual({ allow: false, policyIds: [], errors: [] });
  });

  it("lets an admin call a tool for another tenant", () => {
    const d = engine.decide({ action: "call_tool", identity: admin(), tool: getOrder, targetTenant: "na" });
    expect(d.allow).toBe(true);
    expect(d.policyIds).toEqual(["order-lookup.admins-read-orders"]);
  });

  it("lets a caller read a record of their own tenant", () => {
    const d = engine.decide({
      action: "read_record",
      identity: identity(),
      record: { recordType: "order", id: "SO-100123", tenant: "emea" },
      targetTenant: "emea",
    });
    expect(d.allow).toBe(true);
    expect(d.policyIds).toEqual(["base.records-of-own-tenant"]);
  });

  it("refuses a non-admin a record of another tenant", () => {
    const d = engine.decide({
      action: "read_record",
      identity: identity(),
      record: { recordType: "order", id: "SO-200456", tenant: "na" },
      targetTenant: "emea",
    });
    expect(d).toEqual({ allow: false, policyIds: [], errors: [] });
  });

  it("lets an admin read a record of another tenant", () => {
    const d = engine.decide({
      action: "read_record",
      identity: admin(),
      record: { recordType: "order", id: "SO-200456", tenant: "na" },
      targetTenant: "emea",
    });
    expect(d.allow).toBe(true);
    expect(d.policyIds).toEqual(["base.admins-read-every-tenant"]);
  });

  it("refuses PII to a support agent even when the token carries orders:pii", () => {
    const d = engine.decide({
      action: "see_pii",
      identity: identity({ scopes: ["orders:read", "orders:pii"] }),
      tool: getOrderPii,
      targetTenant: "emea",
    });
    expect(d).toEqual({ allow: false, policyIds: [], errors: [] });
  });

  it("shows PII to an admin holding orders:pii", () => {
    const d = engine.decide({
      action: "see_pii",
      identity: admin(),
      tool: getOrderPii,
      targetTenant: "emea",
    });
    expect(d).toEqual({ allow: true, policyIds: ["order-lookup.admins-see-customer-contacts"], errors: [] });
  });

  it("refuses PII to an admin whose token lacks orders:pii", () => {
    const d = engine.decide({
      action: "see_pii",
      identity: admin({ scopes: ["orders:read"] }),
      tool: getOrderPii,
      targetTenant: "emea",
    });
    expect(d.allow).toBe(false);
    expect(d.policyIds).toEqual(["base.token-must-carry-tool-scope"]);
  });

  it("lists every loaded policy id", () => {
    expect(engine.policyIds).toEqual([
      "approvals.admins-any-tenant",
      "approvals.approvers-in-own-tenant",
      "approvals.four-eyes",
      "base.admins-read-every-tenant",
      "base.calls-stay-in-own-tenant",
      "base.records-of-own-tenant",
      "base.token-must-carry-tool-scope",
      "order-lookup.admins-read-orders",
      "order-lookup.admins-see-customer-contacts",
      "order-lookup.approvers-read-orders",
      "order-lookup.support-agents-read-orders",
    ]);
  });
});

describe("policy loading", () => {
  let root: string;
  let n = 0;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "gatehouse-policy-"));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  /** Writes one policy file into a fresh folder and returns the folder and the file's path. */
  function policyDir(text: string, file = "server.cedar"): { dir: string; path: string } {
    const dir = join(root, `case-${++n}`);
    const path = join(dir, file);
    mkdirSync(dir);
    writeFileSync(path, text);
    return { dir, path };
  }

  function loadError(dirs: string[]): PolicyLoadError {
    try {
      PolicyEngine.load(dirs);
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyLoadError);
      return err as PolicyLoadError;
    }
    throw new Error("the policies loaded without error");
  }

  it("loads a valid server policy folder", () => {
    const { dir } = policyDir(
      `@id("t.ok") permit (principal in Gatehouse::Role::"support_agent", action == Gatehouse::Action::"call_tool", resource) when { resource.scope == "x:read" };`,
    );
    expect(PolicyEngine.load([dir]).policyIds).toContain("t.ok");
  });

  it("refuses a file with a syntax error and names the file", () => {
    const { dir, path } = policyDir(`@id("t.broken") permit (principal, action resource);`);
    expect(loadError([dir]).message).toContain(path);
  });

  it("refuses a policy without an @id and names the file", () => {
    const { dir, path } = policyDir(
      `permit (principal, action == Gatehouse::Action::"call_tool", resource);`,
    );
    const err = loadError([dir]);
    expect(err.message).toContain(path);
    expect(err.message).toContain("@id");
  });

  it("refuses two policies with the same @id and names the file", () => {
    const { dir, path } = policyDir(
      [
        `@id("t.dup") permit (principal in Gatehouse::Role::"admin", action == Gatehouse::Action::"call_tool", resource);`,
        `@id("t.dup") permit (principal in Gatehouse::Role::"approver", action == Gatehouse::Action::"call_tool", resource);`,
      ].join("\n"),
    );
    const err = loadError([dir]);
    expect(err.message).toContain(path);
    expect(err.message).toContain('"t.dup"');
  });

  it("refuses a server policy that reuses a base policy's @id", () => {
    const { dir, path } = policyDir(
      `@id("base.records-of-own-tenant") permit (principal, action == Gatehouse::Action::"read_record", resource);`,
    );
    const err = loadError([dir]);
    expect(err.message).toContain(path);
    expect(err.message).toContain("already used");
  });

  it("refuses an attribute typo through strict validation and names the file", () => {
    const { dir, path } = policyDir(
      `@id("t.typo") permit (principal, action == Gatehouse::Action::"call_tool", resource) when { resource.scpoe == "orders:read" };`,
    );
    const err = loadError([dir]);
    expect(err.message).toContain(path);
    expect(err.message).toContain("t.typo");
    expect(err.message).toContain("scpoe");
  });

  it("refuses a policy folder that does not exist", () => {
    const missing = join(root, "no-such-folder");
    expect(loadError([missing]).message).toContain(missing);
  });
});

describe("approval policies (four eyes)", () => {
  const engine = PolicyEngine.load([]);
  const draft = {
    subjectType: "ticket_draft",
    id: "dr_1",
    tenant: "emea",
    owner: "alice",
    authors: ["alice"],
  };
  const who = (user: string, roles: string[], tenant: string, scopes = ["tickets:approve"]) => ({
    user,
    roles,
    tenant,
    client: "t",
    env: "dev",
    tokenId: "j",
    scopes,
  });

  it("lets an approver of the same tenant approve someone else's draft", () => {
    expect(
      engine.decide({
        action: "approve",
        identity: who("carol", ["approver"], "emea"),
        subject: draft,
        targetTenant: "emea",
      }),
    ).toMatchObject({
      allow: true,
      policyIds: ["approvals.approvers-in-own-tenant"],
    });
  });

  it("forbids approving your own draft, even as an approver or admin", () => {
    const own = { ...draft, owner: "carol" };
    expect(
      engine.decide({
        action: "approve",
        identity: who("carol", ["approver"], "emea"),
        subject: own,
        targetTenant: "emea",
      }),
    ).toMatchObject({ allow: false, policyIds: ["approvals.four-eyes"] });
    const dave = { ...draft, owner: "dave" };
    expect(
      engine.decide({
        action: "approve",
        identity: who("dave", ["admin"], "emea"),
        subject: dave,
        targetTenant: "emea",
      }).allow,
    ).toBe(false);
  });

  it("forbids approving a draft you edited, though someone else created it (four eyes over every author)", () => {
    const edited = { ...draft, authors: ["alice", "dave"] };
    expect(
      engine.decide({
        action: "approve",
        identity: who("dave", ["admin"], "emea"),
        subject: edited,
        targetTenant: "emea",
      }),
    ).toMatchObject({ allow: false, policyIds: ["approvals.four-eyes"] });
    expect(
      engine.decide({
        action: "approve",
        identity: who("carol", ["approver"], "emea"),
        subject: edited,
        targetTenant: "emea",
      }).allow,
    ).toBe(true);
  });

  it("forbids an approver of another tenant, a support agent, and a token without tickets:approve", () => {
    expect(
      engine.decide({
        action: "approve",
        identity: who("erin", ["approver"], "na"),
        subject: draft,
        targetTenant: "emea",
      }).allow,
    ).toBe(false);
    expect(
      engine.decide({
        action: "approve",
        identity: who("bob", ["support_agent"], "emea"),
        subject: draft,
        targetTenant: "emea",
      }).allow,
    ).toBe(false);
    expect(
      engine.decide({
        action: "approve",
        identity: who("carol", ["approver"], "emea", ["orders:read"]),
        subject: draft,
        targetTenant: "emea",
      }).allow,
    ).toBe(false);
  });
});
