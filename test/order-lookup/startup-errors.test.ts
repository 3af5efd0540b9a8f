import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureOrdersDatabase } from "@gatehouse/sandbox";
import { TEST_ORDERS_DB } from "@gatehouse/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORDER_LOOKUP_ENTRY } from "../support/servers.ts";

/** Starts the real entry point directly, as an operator would, and waits for it to exit. */
async function startDirectly(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [ORDER_LOOKUP_ENTRY, "http"], {
    env: { ...process.env, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

describe("order-lookup says in one line why it cannot start", () => {
  let dataDir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "gatehouse-startup-"));
    await ensureOrdersDatabase(TEST_ORDERS_DB);
    env = {
      GATEHOUSE_DATA_DIR: dataDir,
      ORDERS_DATABASE_URL: `file:${TEST_ORDERS_DB}`,
      GATEHOUSE_HOST: "127.0.0.1",
      GATEHOUSE_PORT: "0",
      DATABASE_URL: "",
    };
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it("names an unreachable DATABASE_URL and what to check, without a stack", async () => {
    const { code, stderr } = await startDirectly({ ...env, DATABASE_URL: "postgres://127.0.0.1:1/x" });
    expect(code).not.toBe(0);
    expect(stderr).toBe(
      "order-lookup: cannot reach the database at postgres://127.0.0.1:1/x (connection refused); check DATABASE_URL\n",
    );
  });

  it("never prints the database password", async () => {
    const { code, stderr } = await startDirectly({
      ...env,
      DATABASE_URL: "postgres://gatehouse:hunter2-secret@127.0.0.1:1/x",
    });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(
      /^order-lookup: cannot reach the database at postgres:\/\/gatehouse:\*\*\*@127\.0\.0\.1:1\/x/,
    );
    expect(stderr).not.toContain("hunter2");
    expect(stderr.trim().split("\n")).toHaveLength(1);
  });

  describe("with its port taken", () => {
    let holder: Server;
    let port: number;

    beforeAll(async () => {
      holder = createServer();
      holder.listen(0, "127.0.0.1");
      await once(holder, "listening");
      port = (holder.address() as { port: number }).port;
    });

    afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

    it("names the busy port and what to do, without a stack", async () => {
      const { code, stderr } = await startDirectly({ ...env, GATEHOUSE_PORT: String(port) });
      expect(code).not.toBe(0);
      expect(stderr).toBe(
        `order-lookup: port ${port} on 127.0.0.1 is in use; stop what holds it or set GATEHOUSE_PORT\n`,
      );
    });
  });
});
