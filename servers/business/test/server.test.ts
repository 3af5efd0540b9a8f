import { describeGovernedServer } from "@gatehouse/testing";
import { business } from "../src/server.ts";

describeGovernedServer(business, {
  entry: new URL("../src/main.ts", import.meta.url).pathname,
  // Its downstream servers are not running here: the suite checks the gate, not the findings (test/business does).
  env: { BUSINESS_CLIENT_SECRET: "suite-secret-0123456789abcdef" },
  successfulCallsCoveredBy: "test/business/business.test.ts",
});
