import {
  createTestEnvironment,
  type SpawnedServer,
  spawnHttpServer,
  type TestEnvironment,
} from "@gatehouse/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callToolBody, MCP_HEADERS, rawRequest } from "../support/http.ts";
import { ORDER_LOOKUP_ENTRY, RELAXED_LIMITS } from "../support/servers.ts";

// One local client fires refused requests as fast as it can. Every refusal must be on the record, but the
// trail may grow by a bounded number of rows: the first few refusals per source and interval are written
// one by one (with their reason), the rest are counted into one aggregated event per interval.

const BURST = 20; // the recorder's default burst per source, kind and interval

type Detail = { reason?: string; aggregated?: boolean; count?: number; reasons?: Record<string, number> };

describe("a flood of unauthenticated requests", () => {
  let env: TestEnvironment;
  let server: SpawnedServer;

  beforeEach(async () => {
    env = await createTestEnvironment({ storeKind: "sqlite" });
  });

  afterEach(async () => {
    await server?.stop();
    await env?.close();
  });

  const refusalRows = async () =>
    (await env.audit.latest(10_000))
      .filter((e) => e.type === "auth.rejected" && e.server === "order-lookup")
      .map((e) => ({ ...e, detail: JSON.parse(e.detail) as Detail }));

  /** Refusals accounted for by the rows: one per single event, `count` per aggregated one. */
  const accounted = (rows: Array<{ detail: Detail }>) =>
    rows.reduce((n, r) => n + (r.detail.aggregated ? Number(r.detail.count) : 1), 0);

  const flood = async (n: number) => {
    const body = callToolBody("get_order", { order_id: "SO-100001" });
    const statuses: number[] = [];
    for (let sent = 0; sent < n; sent += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, n - sent) }, () =>
          rawRequest(server.url, { headers: MCP_HEADERS, body }).then((r) => r.status),
        ),
      );
      statuses.push(...batch);
    }
    return statuses;
  };

  it("adds a bounded number of rows whose counts add up to every refusal once the server stops", async () => {
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      ...RELAXED_LIMITS,
      GATEHOUSE_AUTH_REFUSAL_INTERVAL_MS: String(3_600_000),
    });
    const statuses = await flood(500);
    expect(statuses.every((s) => s === 401)).toBe(true);

    const during = await refusalRows();
    // Written at once: the first refusals, each with its reason (an interval boundary may add one burst).
    expect(during.length).toBeGreaterThanOrEqual(BURST);
    expect(during.length).toBeLessThanOrEqual(2 * BURST + 1);
    expect(during[0]!.detail.reason).toBe("no access token was presented");

    await server.stop("SIGTERM"); // a graceful stop writes what was held back
    const after = await refusalRows();
    expect(after.length).toBeLessThanOrEqual(2 * (BURST + 1));
    expect(accounted(after)).toBe(500);
    const aggregated = after.filter((r) => r.detail.aggregated);
    expect(aggregated.length).toBeGreaterThanOrEqual(1);
    expect(aggregated[0]).toMatchObject({
      outcome: "invalid_token",
      user_id: null,
      detail: { reasons: { "no access token was presented": aggregated[0]!.detail.count } },
    });
  });

  it("writes the aggregated count when the interval ends, while the server keeps running", async () => {
    server = await spawnHttpServer(ORDER_LOOKUP_ENTRY, {
      ...env.env,
      ...RELAXED_LIMITS,
      GATEHOUSE_AUTH_REFUSAL_INTERVAL_MS: "1000",
    });
    await flood(100);
    const deadline = Date.now() + 15_000;
    let rows = await refusalRows();
    while (accounted(rows) < 100 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      rows = await refusalRows();
    }
    expect(accounted(rows)).toBe(100);
    expect(rows.some((r) => r.detail.aggregated)).toBe(true);
    expect(rows.length).toBeLessThan(100);
  });
});
