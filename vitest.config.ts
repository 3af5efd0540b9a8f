import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// One `vitest run` covers every package: each folder below is a project with its own config.
export default defineConfig({
  test: {
    // Most suites wait on server processes rather than compute: two files at a time even on a 2-core machine
    // (vitest's default there is one), which CI's wall time needs; each suite's bounds allow for the load.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: ["packages/*/vitest.config.ts", "servers/*/vitest.config.ts", "test/vitest.config.ts"],
    reporters: ["default", "./shared/vitest/summary-reporter.ts"],
  },
});
