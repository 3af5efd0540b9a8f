import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { spawnHttpServer } from "../src/spawn-server.ts";

describe("spawnHttpServer", () => {
  it("kills a server that never says it is serving, and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-spawn-"));
    const entry = join(dir, "silent.ts");
    // Writes its pid, then idles forever without announcing a URL.
    writeFileSync(entry, `process.stderr.write(String(process.pid) + "\\n"); setInterval(() => {}, 1000);\n`);
    try {
      const started = spawnHttpServer(entry, {}, 1500);
      await expect(started).rejects.toThrow(/did not start within 1500 ms/);
      const message = await started.catch((e: Error) => e.message);
      const pid = Number(/(\d+)\s*$/.exec(String(message))?.[1] ?? 0);
      expect(pid).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
