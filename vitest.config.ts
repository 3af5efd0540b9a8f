import { defineConfig } from "vitest/config";

// One `vitest run` covers every package: each folder below is a project with its own config.
export default defineConfig({
  test: {
    projects: ["packages/*/vitest.config.ts", "servers/*/vitest.config.ts", "test/vitest.config.ts"],
    reporters: ["default", "./shared/vitest/summary-reporter.ts"],
  },
});
