import { gatehouseProject } from "../shared/vitest/project.ts";

export default gatehouseProject("e2e", {
  globalSetup: ["./setup/postgres.ts", "./setup/redis.ts"],
  slow: true,
});
