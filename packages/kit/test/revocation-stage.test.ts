import { Revocations } from "@gatehouse/governance";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool, type Governance, newTraceContext, outcomeOf } from "../src/index.ts";
import { runGovernedCall } from "../src/pipeline.ts";
import { openTestGovernance } from "./fixtures/test-governance.ts";

const alice = {
  user: "alice",
  roles: ["support_agent"],
  tenant: "emea",
  client: "inspector",
  env: "dev",
  tokenId: "jti-1",
  scopes: ["orders:read"],
  expiresAt: Math.floor(Date.now() / 1000) + 600,
};
const log = pino({ level: "silent" });

let gov: Governance;
let handlerRuns = 0;

const getOrder = defineTool({
  name: "get_order",
  title: "t",
  description: "t",
  kind: "read",
  scope: "orders:read",
  input: z.object({ id: z.string() }),
  output: z.object({ id: z.string(), tenant: z.string() }),
  records: (o) => [{ type: "order", id: o.id, tenant: o.tenant }],
  handler: async (input) => {
    handlerRuns++;
    return { id: input.id, tenant: "emea" };
  },
});

const call = (identity: typeof alice, args: unknown = { id: "SO-1" }) =>
  runGovernedCall(gov, {}, log, {
    server: "order-lookup",
    tool: getOrder as never,
    identity,
    args,
    trace: newTraceContext({}),
    signal: AbortSignal.timeout(2_000),
    deadline: Date.now() + 2_000,
    transport: "http",
  });

let closeGovernance: () => Promise<void>;

beforeEach(async () => {
  ({ gov, close: closeGovernance } = await openTestGovernance({ points: 1000, revocationTtlMs: 300 }));
  handlerRuns = 0;
});

afterEach(() => closeGovernance());

describe("the pipeline's identity stage: revoked people, clients and tokens", () => {
  it.each([
    ["subject", "alice", "this person's"],
    ["client", "inspector", "this client's"],
    ["token", "jti-1", "this access token's"],
  ] as const)(
    "refuses a call whose %s is revoked, before input, and audits it at the identity stage",
    async (kind, value, what) => {
      expect((await call(alice)).isError).toBe(false);
      // Another process (the CLI) revokes: this one's cached list catches up within its TTL (300 ms here).
      const { revocation } = await new Revocations(gov.store, 0).revoke({
        kind,
        value,
        reason: "laptop stolen",
        by: "ops",
      });
      await new Promise((r) => setTimeout(r, 350));
      handlerRuns = 0;
      // Arguments that would fail input validation: the identity stage comes first.
      const result = await call(alice, { id: 42, extra: true });
      expect(result.isError).toBe(true);
      expect(result.text).toContain(`${what} access was revoked`);
      expect(result.text).not.toContain("laptop stolen");
      expect(result.outcome).toEqual({
        status: "denied",
        stage: "identity",
        decision: "deny",
        code: "revoked",
        revoked: kind,
      });
      expect(outcomeOf({ _meta: { "io.gatehouse/outcome": result.outcome } })?.code).toBe("revoked");
      expect(handlerRuns).toBe(0);
      const [denied] = await gov.audit.latest(1);
      expect(denied).toMatchObject({
        type: "tool.denied",
        decision: "deny",
        outcome: "denied at identity",
        user_id: "alice",
      });
      expect(JSON.parse(denied!.detail)).toMatchObject({
        stage: "identity",
        revocation: revocation.id,
        revoked: kind,
        revokedBy: "ops",
      });
    },
  );

  it("refuses only what was revoked: alice's other token and bob keep working", async () => {
    await gov.revocations.revoke({ kind: "token", value: "jti-1", reason: "leaked in a log", by: "ops" });
    expect((await call(alice)).outcome.stage).toBe("identity");
    expect((await call({ ...alice, tokenId: "jti-2" })).isError).toBe(false);
    expect((await call({ ...alice, user: "bob", tokenId: "jti-3" })).isError).toBe(false);
  });

  it("notes who reached the server once, then refreshes last seen at most once a minute", async () => {
    for (let i = 0; i < 20; i++) await call(alice);
    const rows = await gov.store.db.selectFrom("access_seen").selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      user_id: "alice",
      client_id: "inspector",
      server: "order-lookup",
      transport: "http",
      env: "dev",
      token_id: "jti-1",
      tenant: "emea",
    });
    expect(rows[0]!.first_seen).toBe(rows[0]!.last_seen);
  });
});
