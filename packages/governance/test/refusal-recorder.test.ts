import { afterEach, describe, expect, it } from "vitest";
import { type AuditEventInput, type Identity, OTHER_SOURCES, RefusalRecorder } from "../src/index.ts";

const INTERVAL = 60_000;
const START = 1_800_000_000_000; // the start of an interval (a multiple of INTERVAL)

let clock = START;
let written: AuditEventInput[] = [];
let recorder: RefusalRecorder | undefined;

afterEach(async () => {
  await recorder?.close();
  recorder = undefined;
  written = [];
  clock = START;
});

function make(
  opts: { burst?: number; maxSources?: number; append?: (e: AuditEventInput) => Promise<unknown> } = {},
) {
  recorder = new RefusalRecorder({
    server: "order-lookup",
    intervalMs: INTERVAL,
    burst: opts.burst ?? 3,
    maxSources: opts.maxSources,
    now: () => clock,
    append:
      opts.append ??
      (async (e) => {
        written.push(e);
      }),
    onError: (err) => {
      throw err;
    },
  });
  return recorder;
}

const bob: Identity = {
  user: "bob",
  roles: ["support_agent"],
  tenant: "na",
  client: "test",
  env: "dev",
  tokenId: "t",
  scopes: [],
};

function refusal(
  source: string,
  reason = "no access token was presented",
  kind = "invalid_token",
  identity?: Identity,
) {
  return {
    source,
    kind,
    reason,
    event: {
      type: "auth.rejected" as const,
      server: "order-lookup",
      identity,
      env: identity?.env ?? "http",
      outcome: kind,
      detail: { reason, source },
      correlationId: "c",
      traceId: "t",
      spanId: "s",
    },
  };
}

const aggregates = () => written.filter((e) => e.detail?.aggregated === true);
const singles = () => written.filter((e) => e.detail?.aggregated !== true);
/** Every refusal accounted for: one per single event, `count` per aggregated one. */
const accounted = () =>
  singles().length + aggregates().reduce((n, e) => n + Number((e.detail as { count: number }).count), 0);

describe("refusal recorder", () => {
  it("writes the first refusals of an interval at once, with their reason, and counts the rest", async () => {
    const r = make({ burst: 3 });
    for (let i = 0; i < 3; i++) await r.record(refusal("10.0.0.1"));
    expect(written).toHaveLength(3);
    expect(written.every((e) => e.detail?.reason === "no access token was presented")).toBe(true);

    for (let i = 0; i < 500; i++) {
      clock += 10;
      await r.record(
        refusal("10.0.0.1", i % 2 ? "the access token has expired" : "no access token was presented"),
      );
    }
    expect(written).toHaveLength(3);

    clock = START + INTERVAL; // the interval has ended
    await r.sweep();
    expect(written).toHaveLength(4);
    expect(aggregates()).toEqual([
      expect.objectContaining({
        type: "auth.rejected",
        server: "order-lookup",
        env: "http",
        outcome: "invalid_token",
        detail: {
          aggregated: true,
          source: "10.0.0.1",
          count: 500,
          reasons: { "no access token was presented": 250, "the access token has expired": 250 },
          firstAt: new Date(START + 10).toISOString(),
          lastAt: new Date(START + 5000).toISOString(),
          intervalMs: INTERVAL,
          recordedSeparately: 3,
        },
      }),
    ]);
    expect(aggregates()[0]!.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(accounted()).toBe(503);
  });

  it("writes nothing more at an interval's end when nothing was held back", async () => {
    const r = make({ burst: 3 });
    for (let i = 0; i < 3; i++) await r.record(refusal("10.0.0.1"));
    clock += INTERVAL;
    await r.sweep();
    await r.close();
    expect(written).toHaveLength(3);
  });

  it("counts each source and each kind of refusal on its own", async () => {
    const r = make({ burst: 2 });
    for (let i = 0; i < 5; i++) {
      await r.record(refusal("10.0.0.1"));
      await r.record(refusal("10.0.0.2"));
      await r.record(
        refusal("10.0.0.1", "approving needs the tickets:approve scope", "insufficient_scope", bob),
      );
    }
    expect(singles()).toHaveLength(6);
    await r.close();
    expect(
      aggregates().map((e) => [
        (e.detail as { source: string }).source,
        e.outcome,
        (e.detail as { count: number }).count,
      ]),
    ).toEqual([
      ["10.0.0.1", "invalid_token", 3],
      ["10.0.0.1", "insufficient_scope", 3],
      ["10.0.0.2", "invalid_token", 3],
    ]);
    const scoped = aggregates().find((e) => e.outcome === "insufficient_scope")!;
    expect(scoped.detail).toMatchObject({ users: ["bob"] });
    expect(scoped.env).toBe("dev");
    expect(accounted()).toBe(15);
  });

  it("starts a new burst in the next interval and reports the last one's count when it rolls over", async () => {
    const r = make({ burst: 2 });
    for (let i = 0; i < 4; i++) await r.record(refusal("10.0.0.1"));
    clock += INTERVAL;
    // The first refusal of the new interval closes the old one (if its timer has not yet).
    await r.record(refusal("10.0.0.1"));
    expect(aggregates()).toHaveLength(1);
    expect(aggregates()[0]!.detail).toMatchObject({ count: 2 });
    expect(singles()).toHaveLength(3);
    await r.record(refusal("10.0.0.1"));
    expect(singles()).toHaveLength(4);
    expect(accounted()).toBe(6);
  });

  it("reports what it held back when closed, and writes every later refusal on its own", async () => {
    const r = make({ burst: 1 });
    for (let i = 0; i < 10; i++) await r.record(refusal("10.0.0.1"));
    await r.close();
    expect(aggregates()).toHaveLength(1);
    expect(accounted()).toBe(10);
    await r.record(refusal("10.0.0.1"));
    await r.record(refusal("10.0.0.1"));
    expect(singles()).toHaveLength(3);
  });

  it("tracks a bounded number of sources: the rest share one bucket", async () => {
    const r = make({ burst: 1, maxSources: 2 });
    for (let s = 1; s <= 50; s++) for (let i = 0; i < 3; i++) await r.record(refusal(`10.0.1.${s}`));
    // Sources 1 and 2 each write one refusal; the 48 others share one burst of one.
    expect(singles()).toHaveLength(3);
    await r.close();
    expect(
      aggregates().map((e) => [
        (e.detail as { source: string }).source,
        (e.detail as { count: number }).count,
      ]),
    ).toEqual([
      ["10.0.1.1", 2],
      ["10.0.1.2", 2],
      [OTHER_SOURCES, 48 * 3 - 1],
    ]);
    expect(accounted()).toBe(150);
  });

  it("keeps ten reasons and ten users per aggregated event, folding the rest", async () => {
    const r = make({ burst: 0 });
    for (let i = 0; i < 30; i++)
      await r.record(
        refusal("10.0.0.1", `reason ${i % 15}`, "insufficient_scope", { ...bob, user: `u${i}` }),
      );
    await r.close();
    const detail = aggregates()[0]!.detail as {
      reasons: Record<string, number>;
      users: string[];
      count: number;
    };
    expect(detail.count).toBe(30);
    expect(Object.keys(detail.reasons)).toHaveLength(11);
    expect(detail.reasons["(other reasons)"]).toBe(10);
    expect(detail.users).toHaveLength(10);
  });

  it("reports an aggregated event it could not write to onError, without failing the refusal", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const r = new RefusalRecorder({
      server: "order-lookup",
      intervalMs: INTERVAL,
      burst: 1,
      now: () => clock,
      append: async () => {
        if (++calls > 1) throw new Error("store is down");
      },
      onError: (err) => errors.push(err),
    });
    await r.record(refusal("10.0.0.1"));
    await r.record(refusal("10.0.0.1"));
    clock += INTERVAL;
    await expect(r.record(refusal("10.0.0.1"))).rejects.toThrow("store is down");
    expect(errors).toHaveLength(1);
    await r.close();
  });

  it("writes the aggregated event on its own when the interval ends, on the real clock", async () => {
    const events: AuditEventInput[] = [];
    const r = new RefusalRecorder({
      server: "order-lookup",
      intervalMs: 100,
      burst: 1,
      append: async (e) => {
        events.push(e);
      },
    });
    for (let i = 0; i < 5; i++) await r.record(refusal("10.0.0.1"));
    expect(events).toHaveLength(1);
    const deadline = Date.now() + 2000;
    while (events.length < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    await r.close();
    // The refusals may straddle two intervals: every one is still accounted for.
    const total = events.reduce((n, e) => n + (e.detail?.aggregated ? Number(e.detail.count) : 1), 0);
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(total).toBe(5);
  });
});
