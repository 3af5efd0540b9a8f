import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateToLatest, openStore, type Store } from "@gatehouse/store";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KillSwitches } from "../src/index.ts";

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-killswitch-"));
  store = openStore({ sqlitePath: join(dir, "store.sqlite") });
  await migrateToLatest(store);
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("kill switches", () => {
  it("lets every tool run while no switch is set", async () => {
    expect(await new KillSwitches(store, 0).check("order-lookup", "get_order")).toEqual({ killed: false });
  });

  it("stops a server's tool switched off as server/tool and reports the reason", async () => {
    const switches = new KillSwitches(store, 0);
    await switches.set("order-lookup/get_order", true, "ops@example.com", "incident 42: leaking data");
    expect(await switches.check("order-lookup", "get_order")).toEqual({
      killed: true,
      reason: "incident 42: leaking data",
    });
    expect(await switches.check("order-lookup", "list_orders")).toEqual({ killed: false });
    expect(await switches.check("crm-read", "get_order")).toEqual({ killed: false });
  });

  it("stops a tool of that name on every server when switched off by its bare name", async () => {
    const switches = new KillSwitches(store, 0);
    await switches.set("get_order", true, "ops@example.com");
    expect(await switches.check("order-lookup", "get_order")).toEqual({ killed: true, reason: null });
    expect(await switches.check("crm-read", "get_order")).toEqual({ killed: true, reason: null });
    expect(await switches.check("order-lookup", "list_orders")).toEqual({ killed: false });
  });

  it("lets the tool run again once the switch is turned back on", async () => {
    const switches = new KillSwitches(store, 0);
    await switches.set("order-lookup/get_order", true, "ops@example.com", "incident 42");
    expect((await switches.check("order-lookup", "get_order")).killed).toBe(true);
    await switches.set("order-lookup/get_order", false, "ops@example.com");
    expect(await switches.check("order-lookup", "get_order")).toEqual({ killed: false });
    const [row] = await switches.list();
    expect(row).toMatchObject({
      tool: "order-lookup/get_order",
      enabled: 0,
      reason: null,
      updated_by: "ops@example.com",
    });
  });

  it("reaches another process's instance through the shared store", async () => {
    const otherStore = openStore({ sqlitePath: join(dir, "store.sqlite") });
    try {
      const running = new KillSwitches(otherStore, 0);
      expect(await running.check("order-lookup", "get_order")).toEqual({ killed: false });
      await new KillSwitches(store, 0).set("order-lookup/get_order", true, "cli", "stop");
      // ttlMs 0 still serves the cache within the same millisecond, so step past it.
      await new Promise((r) => setTimeout(r, 5));
      expect(await running.check("order-lookup", "get_order")).toEqual({ killed: true, reason: "stop" });
    } finally {
      await otherStore.close();
    }
  });
});
