import { gatehouseProject } from "../../shared/vitest/project.ts";

export default gatehouseProject("order-lookup", {
  globalSetup: ["../../test/setup/postgres.ts"],
  slow: true,
});
