import { defineProject } from "vitest/config";

/** The settings every package's test project shares. */
export function gatehouseProject(name: string, extra: { globalSetup?: string[]; slow?: boolean } = {}) {
  return defineProject({
    test: {
      name,
      include: ["test/**/*.test.ts", "**/*.test.ts"],
      exclude: ["**/node_modules/**"],
      environment: "node",
      globalSetup: extra.globalSetup,
      // Cross-process suites start real servers; give them room on a loaded 2-core machine.
      testTimeout: extra.slow ? 60_000 : 15_000,
      hookTimeout: extra.slow ? 120_000 : 30_000,
    },
  });
}
