import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { defineTool, type Governance, newTraceContext, ToolError } from "../src/index.ts";
import { runGovernedCall } from "../src/pipeline.ts";
import { openTestGovernance } from "./fixtures/test-governance.ts";

const alice = {
  user: "alice",
  roles: ["support_agent"],
  tenant: "emea",
  client: "t",
  env: "dev",
  tokenId: "j",
  scopes: ["orders:read"],
};
const log = pino({ level: "silent" });

let gov: Governance;
let handlerRuns = 0;

const echo = defineTool({
  name: "get_order",
  title: "t",
  description: "t",
  kind: "read",
  scope: "orders:read",
  input: z.object({
    id: z.string(),
    tenant: z.string().optional(),
    mode: z.enum(["ok", "slow", "bad", "fail", "other-tenant"]).default("ok"),
  }),
  output: z.object({ id: z.string(), tenant: z.string(), note: z.string() }),
  records: (o) => [{ type: "order", id: o.id, tenant: o.tenant }],
  handler: async (input, ctx) => {
    handlerRuns++;
    if (input.mode === "slow") await new Promise((r) => setTimeout(r, 5_000));
    if (input.mode === "fail") throw new ToolError("order is archived");
    if (input.mode === "bad") return { id: input.id, tenant: 42 } as never;
    const tenant = input.mode === "other-tenant" ? "na" : (input.tenant ?? ctx.identity.tenant);
    return { id: input.id, tenant, note: "call me on +49 30 1234 5678", internal: "dropped" } as never;
  },
});

async function call(args: unknown, opts: { signal?: AbortSignal; tool?: typeof echo } = {}) {
  return runGovernedCall(gov, {}, log, {
    server: "order-lookup",
    tool: (opts.tool ?? echo) as never,
    identity: alice,
    args,
    trace: newTraceContext({}),
    signal: opts.signal ?? AbortSignal.timeout(2_000),
    deadline: Date.now() + 2_000,
  });
}

let closeGovernance: () => Promise<void>;

beforeEach(async () => {
  ({ gov, close: closeGovernance } = await openTestGovernance({ points: 100, revocationTtlMs: 0 }));
  handlerRuns = 0;
});

afterEach(() => closeGovernance());

describe("the governed pipeline, in process", () => {
  it("records the intent before the handler runs and the outcome after, both naming the caller", async () => {
    const result = await call({ id: "SO-1" });
    expect(result.isError).toBe(false);
    const events = await gov.audit.latest(10);
    expect(events.map((e) => e.type)).toEqual(["tool.requested", "tool.completed"]);
    expect(events.every((e) => e.user_id === "alice" && e.correlation_id === events[0]!.correlation_id)).toBe(
      true,
    );
  });

  it("runs nothing when the intent cannot be recorded (fails closed)", async () => {
    await gov.store.db.schema.dropTable("audit_events").execute();
    await expect(call({ id: "SO-1" })).rejects.toThrow();
    expect(handlerRuns).toBe(0);
  });

  it("drops undeclared fields and redacts phone numbers before anything leaves", async () => {
    const result = await call({ id: "SO-1" });
    expect(result.structuredContent).toEqual({
      id: "SO-1",
      tenant: "emea",
      note: "call me on [redacted:phone]",
    });
  });

  it("refuses a result that breaks the tool's output schema, without leaking it", async () => {
    const result = await call({ id: "SO-1", mode: "bad" });
    expect(result).toMatchObject({
      isError: true,
      text: "get_order: the tool produced a result that does not match its output schema",
    });
    expect(result.structuredContent).toBeUndefined();
  });

  it("returns a handler's own ToolError message, and hides any other error behind the audit id", async () => {
    expect((await call({ id: "SO-1", mode: "fail" })).text).toBe("order is archived");
  });

  it("never waits past the request deadline, even for a handler that ignores its signal", async () => {
    const started = Date.now();
    const result = await call({ id: "SO-1", mode: "slow" }, { signal: AbortSignal.timeout(200) });
    expect(result).toMatchObject({
      isError: true,
      text: "get_order did not finish in time; try again, or narrow the request",
    });
    expect(Date.now() - started).toBeLessThan(4_000);
    const outcome = (await gov.audit.latest(1))[0]!;
    expect(JSON.parse(outcome.detail).stage).toBe("handler");
  });

  it("withholds a result holding another tenant's record, after the handler ran", async () => {
    const result = await call({ id: "SO-9", mode: "other-tenant" });
    expect(result).toMatchObject({ isError: true, text: "order SO-9 is in tenant na; you may read emea" });
    expect(handlerRuns).toBe(1);
  });

  it("fills in the caller's tenant, and refuses another before the handler runs", async () => {
    expect((await call({ id: "SO-1" })).structuredContent?.tenant).toBe("emea");
    const other = await call({ id: "SO-1", tenant: "na" });
    expect(other.isError).toBe(true);
    expect(handlerRuns).toBe(1);
  });

  it("stops at a kill switch before policy and handler", async () => {
    await gov.killSwitches.set("get_order", true, "ops", "maintenance");
    const result = await call({ id: "SO-1" });
    expect(result.text).toBe("get_order is switched off by an operator: maintenance; try again later");
    expect(handlerRuns).toBe(0);
  });

  it.each([40, 2_000, 10_000, 100_000])(
    "refuses arguments nested %i levels deep with a clear error, and records intent and outcome",
    async (levels) => {
      let nested: unknown = "x";
      for (let i = 0; i < levels; i++) nested = i % 2 ? [nested] : { a: nested };
      const result = await call({ id: "SO-1", extra: nested });
      expect(result.isError).toBe(true);
      expect(result.text).toBe(
        "invalid arguments for get_order: they nest deeper than 32 levels; send the flat arguments its input schema describes",
      );
      expect(handlerRuns).toBe(0);
      const events = await gov.audit.latest(10);
      expect(events.map((e) => e.type)).toEqual(["tool.requested", "tool.failed"]);
      expect(JSON.parse(events[0]!.args!)).toEqual({ "(refused)": "nested deeper than 32 levels" });
      expect(JSON.parse(events[1]!.detail)).toMatchObject({ stage: "input" });
    },
  );

  it("still accepts arguments exactly as deep as the limit allows", async () => {
    let nested: unknown = "x";
    for (let i = 0; i < 30; i++) nested = { a: nested };
    const result = await call({ id: "SO-1", extra: nested });
    // Past the depth check, the schema refuses the unknown field as usual.
    expect(result.text).toContain('unknown field(s) "extra"');
  });

  it("refuses unknown fields instead of ignoring them", async () => {
    const result = await call({ id: "SO-1", tenant_override: "na" });
    expect(result.text).toContain('unknown field(s) "tenant_override"');
    expect(handlerRuns).toBe(0);
  });
});
