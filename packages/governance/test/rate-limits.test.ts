import { describe, expect, it } from "vitest";
import { type Identity, parseRateLimit, RateLimits } from "../src/index.ts";

function caller(user: string, tenant = "emea"): Identity {
  return { user, roles: ["support_agent"], tenant, client: "test", env: "test", tokenId: "t", scopes: [] };
}

const plenty = { points: 1000, durationSeconds: 60 };

describe("parseRateLimit", () => {
  it.each([
    ["120/60s", { points: 120, durationSeconds: 60 }],
    ["1/1s", { points: 1, durationSeconds: 1 }],
    ["  5/3600s \n", { points: 5, durationSeconds: 3600 }],
  ])("parses %j", (text, expected) => {
    expect(parseRateLimit(text)).toEqual(expected);
  });

  it.each([
    ["120"],
    ["120/60"],
    ["120/60m"],
    ["abc/60s"],
    ["-1/60s"],
    ["1.5/60s"],
    ["120 / 60s"],
    [""],
    ["0/60s"],
    ["10/0s"],
  ])("refuses %j with a message showing the expected form", (text) => {
    expect(() => parseRateLimit(text)).toThrow(
      `bad rate limit "${text}": expected <calls>/<seconds>s with both at least 1, e.g. 120/60s`,
    );
  });
});

describe("rate limits", () => {
  it("refuses a user's third call within the window on the user bucket, with a retry time", async () => {
    const limits = new RateLimits({
      perUser: { points: 2, durationSeconds: 60 },
      perTenant: plenty,
      perTool: plenty,
    });
    expect(await limits.consume(caller("alice"), "get_order")).toEqual({ ok: true });
    expect(await limits.consume(caller("alice"), "get_order")).toEqual({ ok: true });
    const third = await limits.consume(caller("alice"), "list_orders");
    expect(third).toMatchObject({ ok: false, bucket: "user" });
    if (third.ok) return;
    expect(third.retryAfterSeconds).toBeGreaterThan(0);
    expect(third.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it("keeps serving another user of the same tenant when one user is limited", async () => {
    const limits = new RateLimits({
      perUser: { points: 2, durationSeconds: 60 },
      perTenant: plenty,
      perTool: plenty,
    });
    for (let i = 0; i < 3; i++) await limits.consume(caller("alice"), "get_order");
    expect(await limits.consume(caller("alice"), "get_order")).toMatchObject({ ok: false, bucket: "user" });
    expect(await limits.consume(caller("bob"), "get_order")).toEqual({ ok: true });
  });

  it("refuses a tenant's third call across different users, while other tenants still pass", async () => {
    const limits = new RateLimits({
      perUser: plenty,
      perTenant: { points: 2, durationSeconds: 60 },
      perTool: plenty,
    });
    expect(await limits.consume(caller("alice", "emea"), "get_order")).toEqual({ ok: true });
    expect(await limits.consume(caller("bob", "emea"), "get_order")).toEqual({ ok: true });
    const third = await limits.consume(caller("carol", "emea"), "get_order");
    expect(third).toMatchObject({ ok: false, bucket: "tenant" });
    if (third.ok) return;
    expect(third.retryAfterSeconds).toBeGreaterThan(0);
    expect(await limits.consume(caller("dave", "na"), "get_order")).toEqual({ ok: true });
  });

  it("refuses a tool's third call across tenants on the tool bucket, while other tools still pass", async () => {
    const limits = new RateLimits({
      perUser: plenty,
      perTenant: plenty,
      perTool: { points: 2, durationSeconds: 60 },
    });
    await limits.consume(caller("alice", "emea"), "get_order");
    await limits.consume(caller("bob", "na"), "get_order");
    expect(await limits.consume(caller("carol", "apac"), "get_order")).toMatchObject({
      ok: false,
      bucket: "tool",
    });
    expect(await limits.consume(caller("carol", "apac"), "list_orders")).toEqual({ ok: true });
  });

  it("lets a user call again once the window has passed", async () => {
    const limits = new RateLimits({
      perUser: { points: 1, durationSeconds: 1 },
      perTenant: plenty,
      perTool: plenty,
    });
    expect(await limits.consume(caller("alice"), "get_order")).toEqual({ ok: true });
    expect(await limits.consume(caller("alice"), "get_order")).toMatchObject({
      ok: false,
      bucket: "user",
      retryAfterSeconds: 1,
    });
    await new Promise((r) => setTimeout(r, 1100));
    expect(await limits.consume(caller("alice"), "get_order")).toEqual({ ok: true });
  });
});
