import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverServers, envPrefix, servers } from "../../packages/cli/src/servers.ts";

describe("the settings gatehouse gives a server that exchanges tokens", () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "gatehouse-exchange-env-"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A server folder under `root/servers` declaring the exchange system. */
  function exchangingServer(name: string) {
    const dir = join(root, "servers", name);
    mkdirSync(join(dir, "src"), { recursive: true });
    for (const f of ["server.ts", "main.ts"]) writeFileSync(join(dir, "src", f), "");
    writeFileSync(
      join(dir, "package.json"),
      JSON.stringify({ name: `@gatehouse/${name}`, gatehouse: { defaultPort: 7190, systems: ["exchange"] } }),
    );
    return discoverServers(join(root, "servers")).find((s) => s.name === name)!;
  }

  it("names them after that server, not after business", () => {
    const entry = exchangingServer("warehouse-brief");
    const env = entry.env({ ordersDb: "", dataDir: join(root, "data"), close: async () => undefined });
    expect(env.WAREHOUSE_BRIEF_CLIENT_ID).toBe("warehouse-brief");
    expect(env.WAREHOUSE_BRIEF_CLIENT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    const others = servers().filter((s) => !s.systems.includes("exchange"));
    expect(Object.keys(env).sort()).toEqual(
      [
        "WAREHOUSE_BRIEF_CLIENT_ID",
        "WAREHOUSE_BRIEF_CLIENT_SECRET",
        ...others.map((o) => `WAREHOUSE_BRIEF_${envPrefix(o.name)}_URL`),
      ].sort(),
    );
    expect(Object.keys(env).some((k) => k.startsWith("BUSINESS_"))).toBe(false);
  });

  it("gives business the BUSINESS_ settings it reads", () => {
    const business = servers().find((s) => s.name === "business")!;
    const env = business.env({ ordersDb: "", dataDir: join(root, "data"), close: async () => undefined });
    expect(env.BUSINESS_CLIENT_ID ?? process.env.BUSINESS_CLIENT_ID).toBe("business");
    expect(env).toHaveProperty("BUSINESS_ORDER_LOOKUP_URL");
  });
});
