import { describe, expect, it } from "vitest";
import { portOffset, sandboxPort } from "../../packages/cli/src/ports.ts";

describe("GATEHOUSE_PORT_OFFSET", () => {
  it("shifts every sandbox port by whole hundreds", () => {
    expect(portOffset({})).toBe(0);
    expect(sandboxPort("issuer", { GATEHOUSE_PORT_OFFSET: "300" })).toBe(7400);
    expect(sandboxPort("jira", { GATEHOUSE_PORT_OFFSET: "1000" })).toBe(8120);
  });

  it("refuses a shift that would land on the default sandbox's own ports, or is not a number", () => {
    for (const bad of ["1", "10", "50", "150", "-100", "1100", "abc", "1e2.5"]) {
      expect(() => portOffset({ GATEHOUSE_PORT_OFFSET: bad }), bad).toThrow(/must be 0, 100, 200/);
    }
  });
});

describe("the port offset of a running gatehouse start", () => {
  it("is found through the record start leaves in the data directory, and forgotten when it stops", async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { adoptRunningOffset, recordRunningSandbox, RUNNING_FILE, runningSandboxOffset } = await import(
      "../../packages/cli/src/ports.ts"
    );
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-running-"));
    try {
      expect(runningSandboxOffset(dir)).toBeUndefined();
      const forget = recordRunningSandbox(dir, 300);
      expect(runningSandboxOffset(dir)).toBe(300);
      const env: NodeJS.ProcessEnv = {};
      expect(adoptRunningOffset(dir, env)).toBe("running");
      expect(env.GATEHOUSE_PORT_OFFSET).toBe("300");
      // An explicit setting wins over the record.
      expect(adoptRunningOffset(dir, { GATEHOUSE_PORT_OFFSET: "0" })).toBe("env");
      forget();
      expect(runningSandboxOffset(dir)).toBeUndefined();
      // A start killed without cleaning up leaves a record whose process is gone: ignored.
      writeFileSync(join(dir, RUNNING_FILE), JSON.stringify({ pid: 2 ** 22 + 1, offset: 500 }));
      expect(runningSandboxOffset(dir)).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
