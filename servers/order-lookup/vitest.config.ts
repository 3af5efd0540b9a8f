import { gatehouseProject } from "../../shared/vitest/project.ts";

// The same throwaway PostgreSQL as the e2e suites: the domain queries run on SQLite and on PostgreSQL.
export default gatehouseProject("order-lookup", {
  slow: true,
  globalSetup: ["../../test/setup/postgres.ts"],
});
